% name = student['first_name'] + ' ' + student['last_name']
% rebase('layout.tpl', title='Remove ' + name + ' from ' + klass['name'])
<p class="back"><a href="/classes/{{klass['id']}}/roster">← {{klass['name']}}</a></p>
<h1>Remove {{name}} from the class?</h1>
<dl class="card facts">
  <dt>Student</dt><dd>{{name}}{{' (archived)' if archived else ''}}</dd>
  <dt>Class</dt><dd>{{klass['name']}}</dd>
  <dt>Grades</dt><dd>{{count(student['grade_count'])}} in this class</dd>
</dl>
<p>{{name}} leaves this class's roster and pages. Their grades in the class are kept: an administrator still
  sees them, and enrolling {{name}} again shows them here again. To keep {{name}} on this page, archive them instead.</p>
<form method="post" action="/classes/{{klass['id']}}/students/{{student['id']}}/unenroll" class="confirm">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <button type="submit" class="danger">Remove from the class</button>
  <a href="/classes/{{klass['id']}}/roster#student-{{student['id']}}">Cancel</a>
</form>
