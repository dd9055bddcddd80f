% base = '/classes/%d' % klass['id']
% scored = assignment.get('scored', 0)
% rebase('layout.tpl', title='Delete ' + assignment['title'] + ' · ' + klass['name'])
<p class="back"><a href="{{base}}/assignments/{{assignment['id']}}">← {{assignment['title']}}</a></p>
<h1>Delete this assignment?</h1>
% if get('changed'):
<p class="problem" role="alert">Scores were entered for it since you opened this page, so nothing was deleted. Here is what deleting it takes now.</p>
% end
<dl class="card facts">
  <dt>Class</dt><dd>{{klass['name']}}</dd>
  <dt>Title</dt><dd>{{assignment['title']}}</dd>
  <dt>Category</dt><dd>{{assignment['category']}}</dd>
  <dt>Most points</dt><dd>{{points_text(assignment['max_points'])}}</dd>
  <dt>Due</dt><dd>{{due_text(assignment['due']) or 'no date'}}</dd>
  <dt>Scores</dt><dd id="scored">{{count(scored)}}</dd>
</dl>
% if scored:
<p>Its {{count(scored)}} score{{'' if scored == 1 else 's'}} {{'goes' if scored == 1 else 'go'}} with it, and every average that counted {{'it' if scored == 1 else 'them'}} changes. It cannot be undone.</p>
% else:
<p>No student has a score for it yet. It cannot be undone.</p>
% end
<form method="post" action="{{base}}/assignments/{{assignment['id']}}/delete" class="confirm" id="delete-form">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="scored" value="{{scored}}">
  <button type="submit" class="danger">Delete the assignment{{' and its scores' if scored else ''}}</button>
  <a href="{{base}}/assignments/{{assignment['id']}}">Cancel</a>
</form>
