% rebase('layout.tpl', title=student['first_name'] + ' ' + student['last_name'])
%# A grade's title, type and score, with each field's error: the add form (prefix '') and a grade's edit form.
% def grade_fields(prefix, values, errors):
<label for="{{prefix}}title">Title</label>
<input id="{{prefix}}title" name="title" value="{{values.get('title', '')}}" maxlength="200" required
       {{!'aria-invalid="true"' if 'title' in errors else ''}}>
% if 'title' in errors:
<p class="error" role="alert">Title {{errors['title']}}</p>
% end
<label for="{{prefix}}type">Type</label>
<select id="{{prefix}}type" name="type">
% for t in types:
  <option{{!' selected' if values.get('type') == t else ''}}>{{t}}</option>
% end
</select>
% if 'type' in errors:
<p class="error" role="alert">Type {{errors['type']}}</p>
% end
<label for="{{prefix}}score">Score (0–100)</label>
%# Text, not type=number: the form shows again exactly what was typed, also when it is not a number.
<input id="{{prefix}}score" name="score" inputmode="decimal" autocomplete="off"
       value="{{values.get('score', '')}}" required {{!'aria-invalid="true"' if 'score' in errors else ''}}>
% if 'score' in errors:
<p class="error" role="alert">Score {{errors['score']}}</p>
% end
% for field in errors:
%   if field not in ('title', 'type', 'score'):
<p class="error" role="alert">{{errors[field]}}</p>
%   end
% end
% end
<p class="back"><a href="/students">← All students</a></p>
<h1>{{student['first_name']}} {{student['last_name']}}</h1>
<p class="summary">Average: <strong id="average">{{one_decimal(student['average'])}}</strong>
   · {{len(student['grades'])}} grade{{'' if len(student['grades']) == 1 else 's'}}</p>
<div class="table-wrap" tabindex="0" role="region" aria-label="Grades">
<table id="grades">
  <thead><tr><th scope="col">Title</th><th scope="col">Type</th><th scope="col" class="num">Score</th></tr></thead>
  % for g in student['grades']:
  %   url = '/students/%d/grades/%d' % (student['id'], g['id'])
  <tbody id="grade-{{g['id']}}">
    <tr class="grade"><td>{{g['title']}}</td><td>{{g['type']}}</td><td class="num">{{'%g' % g['score']}}</td></tr>
    <tr class="grade-actions"><td colspan="3">
    % if editing == g['id']:
      <form method="post" action="{{url}}#grade-{{g['id']}}" class="card edit" novalidate>
        <input type="hidden" name="csrf_token" value="{{csrf}}">
        <input type="hidden" name="request_id" value="{{request_id}}.{{g['id']}}">
        % grade_fields('g%d-' % g['id'], edit_values, edit_errors)
        <div class="buttons"><button type="submit">Save</button>
          <a href="/students/{{student['id']}}#grade-{{g['id']}}">Cancel</a></div>
      </form>
    % else:
      <div class="actions">
        <a href="/students/{{student['id']}}?edit={{g['id']}}#grade-{{g['id']}}">Edit<span class="visually-hidden"> {{g['title']}}</span></a>
        <a class="button-link" href="{{url}}/delete">Delete<span class="visually-hidden"> {{g['title']}}</span></a>
      </div>
    % end
    </td></tr>
  </tbody>
  % end
  % if not student['grades']:
  <tbody><tr><td colspan="3">No grades yet.</td></tr></tbody>
  % end
</table>
</div>

<h2>Add a grade</h2>
<form method="post" action="/students/{{student['id']}}/grades" class="card" novalidate>
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="request_id" value="{{request_id}}">
  % grade_fields('', values, errors)
  <button type="submit">Add grade</button>
</form>
