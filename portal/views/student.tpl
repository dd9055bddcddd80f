% rebase('layout.tpl', title=student['first_name'] + ' ' + student['last_name'])
<p class="back"><a href="/students">← All students</a></p>
<h1>{{student['first_name']}} {{student['last_name']}}</h1>
<p class="summary">Average: <strong id="average">{{one_decimal(student['average'])}}</strong>
   · {{len(student['grades'])}} grade{{'' if len(student['grades']) == 1 else 's'}}</p>
<div class="table-wrap" tabindex="0" role="region" aria-label="Grades">
<table id="grades">
  <thead><tr><th scope="col">Title</th><th scope="col">Type</th><th scope="col" class="num">Score</th></tr></thead>
  % for g in student['grades']:
  %   url = '/students/%d/grades/%d' % (student['id'], g['id'])
  %   mine = editing == g['id']
  <tbody id="grade-{{g['id']}}">
    <tr class="grade"><td>{{g['title']}}</td><td>{{g['type']}}</td><td class="num">{{'%g' % g['score']}}</td></tr>
    <tr class="grade-actions"><td colspan="3"><div class="actions">
      <a class="button-link" href="{{url}}/delete">Delete<span class="visually-hidden"> {{g['title']}}</span></a>
      <details class="edit"{{!' open' if mine else ''}}>
        <summary>Edit<span class="visually-hidden"> {{g['title']}}</span></summary>
        <form method="post" action="{{url}}#grade-{{g['id']}}" class="card" novalidate>
          <input type="hidden" name="csrf_token" value="{{csrf}}">
          <input type="hidden" name="request_id" value="{{request_id}}.{{g['id']}}">
          % shown = edit_values if mine else {'title': g['title'], 'type': g['type'], 'score': score_text(g['score'])}
          % include('grade_fields.tpl', prefix='g%d-' % g['id'], values=shown, errors=edit_errors if mine else {}, types=types)
          <button type="submit">Save</button>
        </form>
      </details>
    </div></td></tr>
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
  % include('grade_fields.tpl', prefix='', values=values, errors=errors, types=types)
  <button type="submit">Add grade</button>
</form>
