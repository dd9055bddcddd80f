% rebase('layout.tpl', title='Classes' if user.is_admin else 'My classes')
<h1>{{'Classes' if user.is_admin else 'My classes'}} <span class="count">{{count(len(classes))}}</span></h1>
<div class="table-wrap" tabindex="0" role="region" aria-label="Classes">
<table id="classes">
  <thead><tr><th scope="col">Class</th>
  % if user.is_admin:
    <th scope="col">Teacher</th>
  % end
    <th scope="col" class="num">Students</th></tr></thead>
  <tbody>
  % for c in classes:
    <tr>
      <td><a href="/classes/{{c['id']}}">{{c['name']}}</a></td>
      % if user.is_admin:
      <td>{{names.get(c['teacher'], c['teacher']) if c['teacher'] else 'No teacher'}}</td>
      % end
      <td class="num">{{count(c['students'])}}</td>
    </tr>
  % end
  % if not classes:
    <tr><td colspan="{{3 if user.is_admin else 2}}" class="empty">{{'No classes yet.' if user.is_admin else 'You teach no class yet: an administrator gives you one.'}}</td></tr>
  % end
  </tbody>
</table>
</div>
% if user.is_admin:
<h2 id="add-class">Add a class</h2>
% first = next((f for f in ('name', 'teacher') if f in errors), None)
<form method="post" action="/classes" class="card" novalidate aria-labelledby="add-class">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  % if errors.get('form'):
  <p class="error" role="alert">{{errors['form']}}</p>
  % end
  <label for="name">Name <span class="hint">(at most {{max_name}} characters)</span></label>
  <input id="name" name="name" value="{{values.get('name', '')}}" required autocomplete="off"
         {{!'aria-invalid="true" aria-describedby="name-error"' if 'name' in errors else ''}}{{!' autofocus' if first == 'name' else ''}}>
  % if 'name' in errors:
  <p class="error" id="name-error">Name {{errors['name']}}</p>
  % end
  <label for="teacher">Teacher</label>
  <select id="teacher" name="teacher"{{!' aria-invalid="true" aria-describedby="teacher-error"' if 'teacher' in errors else ''}}{{!' autofocus' if first == 'teacher' else ''}}>
    <option value="">No teacher (administrators only)</option>
  % for username, label in teachers:
    <option value="{{username}}"{{!' selected' if values.get('teacher') == username else ''}}>{{label}}</option>
  % end
  </select>
  % if 'teacher' in errors:
  <p class="error" id="teacher-error">Teacher {{errors['teacher']}}</p>
  % end
  % if not teachers:
  <p class="hint">No teacher yet: <a href="/users">add one on the Users page</a>.</p>
  % end
  <button type="submit">Add class</button>
</form>
% end
