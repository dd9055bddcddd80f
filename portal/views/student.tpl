% rebase('layout.tpl', title=student['first_name'] + ' ' + student['last_name'])
%# A grade's title, type and score, with each field's error: the add form (prefix '') and a grade's edit form.
%# ``focus``: the first field with a problem takes the focus (the add form, far down a long page).
% def grade_fields(prefix, values, errors, focus=False):
%   first = next((f for f in ('title', 'type', 'score') if f in errors), None if 'class_id' in errors else 'title' if errors else None) if focus else None
%   def attributes(field):
%     described = ['%s%s-error' % (prefix, field)] if field in errors else []
%     described += ['%sform-error' % prefix] if field == 'title' and [f for f in errors if f not in ('title', 'type', 'score', 'class_id')] else []
%     return ('aria-invalid="true" ' if field in errors else '') + ('aria-describedby="%s" ' % ' '.join(described) if described else '') + ('autofocus' if first == field else '')
%   end
% for field in errors:
%   if field not in ('title', 'type', 'score', 'class_id'):
<p class="error" id="{{prefix}}form-error" role="alert">{{errors[field]}}</p>
%   end
% end
<label for="{{prefix}}title">Title <span class="hint">(at most 200 characters)</span></label>
<input id="{{prefix}}title" name="title" value="{{values.get('title', '')}}" required {{!attributes('title')}}>
% if 'title' in errors:
<p class="error" id="{{prefix}}title-error">Title {{errors['title']}}</p>
% end
<label for="{{prefix}}type">Type</label>
<select id="{{prefix}}type" name="type" {{!attributes('type')}}>
% for t in types:
  <option{{!' selected' if values.get('type') == t else ''}}>{{t}}</option>
% end
</select>
% if 'type' in errors:
<p class="error" id="{{prefix}}type-error">Type {{errors['type']}}</p>
% end
<label for="{{prefix}}score">Score (0–100)</label>
%# Text, not type=number: the form shows again exactly what was typed, also when it is not a number.
<input id="{{prefix}}score" name="score" inputmode="decimal" autocomplete="off"
       value="{{values.get('score', '')}}" required {{!attributes('score')}}>
% if 'score' in errors:
<p class="error" id="{{prefix}}score-error">Score {{errors['score']}}</p>
% end
% end
<p class="back"><a href="/students">← All students</a></p>
<h1>{{student['first_name']}} {{student['last_name']}}</h1>
<p class="summary">Average (the plain mean of the scores below; a class's weighted average is on its grid):
   <strong id="average">{{one_decimal(student['average'])}}</strong>
   · {{count(len(student['grades']))}} grade{{'' if len(student['grades']) == 1 else 's'}}</p>
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
        %# What the form was opened with (the score exactly as stored): grading refuses the save if the grade changed since.
        % for field in ('title', 'type', 'score'):
        <input type="hidden" name="expected_{{field}}" value="{{expected.get(field, '')}}">
        % end
        % if edit_conflict:
        <div class="problem" role="alert" id="g{{g['id']}}-conflict">
          <p class="error">This grade was changed after you opened the form. Nothing was saved.</p>
          <table class="compare">
            <caption class="visually-hidden">The grade as stored now, and as you typed it</caption>
            <thead><tr><th scope="col">Field</th><th scope="col">Stored now</th><th scope="col">You typed</th></tr></thead>
            <tbody>
              <tr><th scope="row">Title</th><td>{{edit_conflict['title']}}</td><td>{{edit_values.get('title', '')}}</td></tr>
              <tr><th scope="row">Type</th><td>{{edit_conflict['type']}}</td><td>{{edit_values.get('type', '')}}</td></tr>
              <tr><th scope="row">Score</th><td>{{score_text(edit_conflict['score'])}}</td><td>{{edit_values.get('score', '')}}</td></tr>
            </tbody>
          </table>
          <p>Save stores your values over the ones stored now; Cancel keeps the stored ones.</p>
        </div>
        % end
        % grade_fields('g%d-' % g['id'], edit_values, edit_errors)
        <div class="buttons"><button type="submit">Save</button>
          <a href="/students/{{student['id']}}#grade-{{g['id']}}">Cancel</a></div>
      </form>
    % else:
      <div class="actions">
        <a href="/students/{{student['id']}}?edit={{g['id']}}#grade-{{g['id']}}">Edit<span class="visually-hidden"> {{g['title']}}</span></a>
        <a class="button-link" href="{{url}}/delete">Delete<span class="visually-hidden"> {{g['title']}}</span></a>
        <a href="/grades/{{g['id']}}/history">History<span class="visually-hidden"> of {{g['title']}}</span></a>
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

<h2 id="add-grade">Add a grade</h2>
<form method="post" action="/students/{{student['id']}}/grades" class="card" novalidate aria-labelledby="add-grade">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="request_id" value="{{request_id}}">
  % grade_fields('', values, errors, focus=True)
  % if classes:
  %# Shown when grading asked which class (the student is in several): the grade goes to the one chosen.
  <label for="class_id">Class</label>
  <select id="class_id" name="class_id"{{!' aria-invalid="true" aria-describedby="class_id-error" autofocus' if 'class_id' in errors else ''}}>
  % for c in classes:
    <option value="{{c['id']}}"{{!' selected' if values.get('class_id') == str(c['id']) else ''}}>{{c['name']}}</option>
  % end
  </select>
  % if 'class_id' in errors:
  <p class="error" id="class_id-error">Class {{errors['class_id']}}</p>
  % end
  % end
  <button type="submit">Add grade</button>
</form>
