% rebase('layout.tpl', title=student['first_name'] + ' ' + student['last_name'])
<p class="back"><a href="/students">← All students</a></p>
<h1>{{student['first_name']}} {{student['last_name']}}</h1>
<p class="summary">Average: <strong id="average">{{one_decimal(student['average'])}}</strong>
   · {{len(student['grades'])}} grade{{'' if len(student['grades']) == 1 else 's'}}</p>
<div class="table-wrap">
<table id="grades">
  <thead><tr><th scope="col">Title</th><th scope="col">Type</th><th scope="col" class="num">Score</th></tr></thead>
  <tbody>
  % for g in student['grades']:
    <tr><td>{{g['title']}}</td><td>{{g['type']}}</td><td class="num">{{'%g' % g['score']}}</td></tr>
  % end
  % if not student['grades']:
    <tr><td colspan="3">No grades yet.</td></tr>
  % end
  </tbody>
</table>
</div>

<h2>Add a grade</h2>
<form method="post" action="/students/{{student['id']}}/grades" class="card" novalidate>
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="request_id" value="{{request_id}}">
  <label for="title">Title</label>
  <input id="title" name="title" value="{{values.get('title', '')}}" maxlength="200" required
         {{!'aria-invalid="true"' if 'title' in errors else ''}}>
  % if 'title' in errors:
  <p class="error" role="alert">Title {{errors['title']}}</p>
  % end
  <label for="type">Type</label>
  <select id="type" name="type">
  % for t in types:
    <option{{!' selected' if values.get('type') == t else ''}}>{{t}}</option>
  % end
  </select>
  % if 'type' in errors:
  <p class="error" role="alert">Type {{errors['type']}}</p>
  % end
  <label for="score">Score (0–100)</label>
  <input id="score" name="score" type="number" min="0" max="100" step="any" inputmode="decimal"
         value="{{values.get('score', '')}}" required {{!'aria-invalid="true"' if 'score' in errors else ''}}>
  % if 'score' in errors:
  <p class="error" role="alert">Score {{errors['score']}}</p>
  % end
  % for field in errors:
  %   if field not in ('title', 'type', 'score'):
  <p class="error" role="alert">{{errors[field]}}</p>
  %   end
  % end
  <button type="submit">Add grade</button>
</form>
