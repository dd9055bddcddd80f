% heading = 'History of %s' % (title if title else 'grade %d' % grade_id)
% rebase('layout.tpl', title=heading)
% if student_id:
<p class="back"><a href="/students/{{student_id}}#grade-{{grade_id}}">← The student's grades</a></p>
% end
<h1>{{heading}}</h1>
<p class="summary">Every change to grade {{grade_id}}, oldest first{{'. It has been deleted' if deleted else ''}}.</p>
% include('changes.tpl', entries=entries, caption='Changes to this grade', show_what=False)
