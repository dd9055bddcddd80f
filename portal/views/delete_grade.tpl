% name = student['first_name'] + ' ' + student['last_name']
% rebase('layout.tpl', title='Delete a grade of ' + name)
<p class="back"><a href="/students/{{student['id']}}">← {{name}}</a></p>
<h1>Delete this grade?</h1>
% if seen:
<div class="problem" role="alert">
  <p class="error">This grade was changed after you opened the confirmation. Nothing was deleted.</p>
  <p>You saw {{seen['title']}} ({{seen['type']}}, {{seen['score']}}); it is now shown below. Delete it as it is now?</p>
</div>
% end
<dl class="card facts">
  <dt>Student</dt><dd>{{name}}</dd>
  <dt>Title</dt><dd>{{grade['title']}}</dd>
  <dt>Type</dt><dd>{{grade['type']}}</dd>
  <dt>Score</dt><dd>{{score_text(grade['score'])}}</dd>
</dl>
<p>Deleting it changes the student's average. It cannot be undone.</p>
<form method="post" action="/students/{{student['id']}}/grades/{{grade['id']}}/delete" class="confirm">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="request_id" value="{{request_id}}">
  %# What this page shows (the score exactly as stored): grading deletes nothing if the grade changed since.
  % for field in ('title', 'type', 'score'):
  <input type="hidden" name="expected_{{field}}" value="{{expected[field]}}">
  % end
  <button type="submit" class="danger">Delete the grade</button>
  <a href="/students/{{student['id']}}#grade-{{grade['id']}}">Cancel</a>
</form>
