% rebase('layout.tpl', title='Import into ' + klass['name'] + ': preview')
%# One table of scores from the preview (``rows``: its new_scores or changed_scores); ``changed``: old → new.
% def score_table(table_id, caption, rows, changed):
<div class="table-wrap" tabindex="0" role="region" aria-labelledby="{{table_id}}-caption">
<table id="{{table_id}}">
  <caption id="{{table_id}}-caption">{{caption}}</caption>
  <thead><tr><th scope="col" class="num">Line</th><th scope="col">Student</th><th scope="col">Assignment</th>
    % if changed:
    <th scope="col">Now</th><th scope="col">From the file</th>
    % else:
    <th scope="col">Score</th>
    % end
  </tr></thead>
  <tbody>
  % for s in rows:
    <tr><td class="num">{{s.get('line')}}</td><td>{{student(s)}}</td><td>{{s.get('assignment')}}</td>
    % if changed:
      <td><del>{{score(s.get('old'))}}</del></td><td><span class="visually-hidden">changed to </span><ins>{{score(s.get('new'))}}</ins></td>
    % else:
      <td>{{score(s.get('new'))}}</td>
    % end
    </tr>
  % end
  </tbody>
</table>
</div>
% end
% new_assignments, unchanged = preview.get('new_assignments') or [], preview.get('unchanged') or 0
<p class="back"><a href="/classes/{{klass['id']}}">← {{klass['name']}}</a></p>
<h1>Import into {{klass['name']}}: preview</h1>
<p class="summary">{{'File: ' + filename + ' · ' if filename else ''}}Nothing has been stored yet.</p>
% if message:
<div class="problem" role="alert"><p class="error">{{message}}</p></div>
% end
% if errors:
<div class="problem" role="alert">
  <p class="error" id="errors-summary">The file has {{count(len(errors))}} problem{{'' if len(errors) == 1 else 's'}}: nothing
    can be imported. Correct {{'it' if len(errors) == 1 else 'them'}} in the file and upload it again.</p>
</div>
<div class="table-wrap" tabindex="0" role="region" aria-labelledby="errors-caption">
<table id="errors">
  <caption id="errors-caption">Problems in the file, by line and column</caption>
  <thead><tr><th scope="col" class="num">Line</th><th scope="col">Column</th><th scope="col">Value</th><th scope="col">Problem</th></tr></thead>
  <tbody>
  % for e in errors:
    <tr><td class="num">{{e.get('line') if e.get('line') is not None else '—'}}</td><td>{{e.get('column') or 'the line'}}</td>
      <td><code>{{e.get('value') if e.get('value') is not None else ''}}</code></td><td>{{e.get('problem')}}</td></tr>
  % end
  </tbody>
</table>
</div>
<p class="tools"><a href="/classes/{{klass['id']}}/import">Upload a corrected file</a></p>
% else:
%# Students too: a file of names only otherwise reads "adds 0 scores ..." although it adds a whole roster.
<p id="preview-summary">The file adds {{count(len(new_scores))}} score{{'' if len(new_scores) == 1 else 's'}} and changes
  {{count(len(changed_scores))}}; {{count(len(new_assignments))}} new assignment{{'' if len(new_assignments) == 1 else 's'}};
  {{count(len(new_students))}} student{{'' if len(new_students) == 1 else 's'}} not on the roster{{(' (to be added)' if add_students else ' (left out)') if new_students else ''}};
  {{count(unchanged)}} unchanged.</p>
%   if changed_scores:
<h2>Changed scores</h2>
%     score_table('changed-scores', 'Scores the file changes: now, and from the file', changed_scores, True)
%   end
%   if new_scores:
<h2>New scores</h2>
%     score_table('new-scores', 'Scores the file adds', new_scores, False)
%   end
%   if new_assignments:
<h2>New assignments</h2>
<ul id="new-assignments">
%     for a in new_assignments:
%       if isinstance(a, dict):
  <li>{{a.get('title')}}{{' (%s, %s points)' % (a['category'], score({'points': a['max_points']})) if a.get('category') and a.get('max_points') is not None else ''}}</li>
%       else:
  <li>{{a}}</li>
%       end
%     end
</ul>
%   end
%   if new_students:
<h2>Students not on the roster</h2>
<p class="summary">{{'They will be added to the class with their scores.' if add_students else 'Their rows will be left out: to add them, upload the file again with "Add students not on the roster" ticked.'}}</p>
<div class="table-wrap" tabindex="0" role="region" aria-labelledby="new-students-caption">
<table id="new-students">
  <caption id="new-students-caption">Rows of students who are not on the class's roster</caption>
  <thead><tr><th scope="col" class="num">Line</th><th scope="col">Student</th><th scope="col" class="num">Number</th></tr></thead>
  <tbody>
%     for s in new_students:
    <tr><td class="num">{{s.get('line')}}</td><td>{{student(s)}}
      % for twin in s.get('same_name') or []:
      <br><strong class="warning">A student of this name is on the roster already, number {{twin}}:</strong> with "add students" ticked, this row adds another one. To update that student, put {{twin}} in the row's student_id.
      % end
    </td><td class="num">{{s.get('student_id') if s.get('student_id') is not None else 'new'}}</td></tr>
%     end
  </tbody>
</table>
</div>
%   end
%   if changes:
<form method="post" action="/classes/{{klass['id']}}/import/confirm" enctype="multipart/form-data" class="card" id="confirm">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="request_id" value="{{request_id}}">
  <input type="hidden" name="expected" value="{{preview.get('token') or ''}}">
  <input type="hidden" name="add_students" value="{{'yes' if add_students else 'no'}}">
  <input type="hidden" name="filename" value="{{filename or ''}}">
  <input type="hidden" name="csv_text" value="{{csv_text}}">
  <p>Store these changes in one step: all of them, or none if a score changed meanwhile.</p>
  <div class="buttons"><button type="submit">Import these changes</button>
    <a href="/classes/{{klass['id']}}">Cancel</a></div>
</form>
%   else:
<p class="flash" id="nothing">Nothing to change: the gradebook already holds what this file says.</p>
<p class="tools"><a href="/classes/{{klass['id']}}">Back to the gradebook</a></p>
%   end
% end
