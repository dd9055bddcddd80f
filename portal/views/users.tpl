% rebase('layout.tpl', title='Users')
<h1>Users <span class="count">{{count(len(users))}}</span></h1>
% if errors.get('form'):
<p class="error" role="alert">{{errors['form']}}</p>
% end
<div class="table-wrap" tabindex="0" role="region" aria-label="Users">
<table id="users" class="roster">
  <thead><tr><th scope="col">Username</th><th scope="col">Name</th><th scope="col">Role</th></tr></thead>
  %# Each user's actions in a row under them, and "disabled" under their role: in columns of their own they
  %# were off a phone's screen.
  % for u in users:
  <tbody id="user-{{u['username']}}">
    <tr>
      <th scope="row">{{u['username']}}</th>
      <td>{{u['display_name']}}</td>
      <td>{{dict(roles).get(u['role'], u['role'])}}{{!'<br><strong class="disabled">Disabled</strong>' if u['disabled'] else ''}}</td>
    </tr>
    <tr class="row-actions"><td colspan="3"><div class="actions">
        <a href="/users/{{u['username']}}/password">Set password<span class="visually-hidden"> of {{u['username']}}</span></a>
        % if u['username'] != user.username:
        <form method="post" action="/users/{{u['username']}}/disabled" class="inline-form">
          <input type="hidden" name="csrf_token" value="{{csrf}}">
          <input type="hidden" name="disabled" value="{{'0' if u['disabled'] else '1'}}">
          <button type="submit" class="link-button">{{'Enable' if u['disabled'] else 'Disable'}}<span class="visually-hidden"> {{u['username']}}</span></button>
        </form>
        % end
      </div></td></tr>
  </tbody>
  % end
</table>
</div>

<h2 id="add-user">Add a user</h2>
% fields = ('username', 'display_name', 'role', 'password', 'password_again')
% first = next((f for f in fields if f in errors), None)
% def attributes(field):
%   return ('aria-invalid="true" aria-describedby="%s-error" ' % field if field in errors else '') + ('autofocus' if first == field else '')
% end
<form method="post" action="/users" class="card" novalidate aria-labelledby="add-user">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <label for="username">Username <span class="hint">(lower-case letters, digits, . _ -; at most 64)</span></label>
  <input id="username" name="username" value="{{values.get('username', '')}}" required autocomplete="off"
         autocapitalize="none" spellcheck="false" {{!attributes('username')}}>
  % if 'username' in errors:
  <p class="error" id="username-error">Username {{errors['username']}}</p>
  % end
  <label for="display_name">Name <span class="hint">(optional: shown in the portal)</span></label>
  <input id="display_name" name="display_name" value="{{values.get('display_name', '')}}" autocomplete="off" {{!attributes('display_name')}}>
  % if 'display_name' in errors:
  <p class="error" id="display_name-error">Name {{errors['display_name']}}</p>
  % end
  <label for="role">Role</label>
  <select id="role" name="role" {{!attributes('role')}}>
  % for value, label in roles:
    <option value="{{value}}"{{!' selected' if values.get('role') == value else ''}}>{{label}}</option>
  % end
  </select>
  % if 'role' in errors:
  <p class="error" id="role-error">Role {{errors['role']}}</p>
  % end
  <label for="password">Password <span class="hint">({{hint}})</span></label>
  <input id="password" name="password" type="password" required autocomplete="new-password" {{!attributes('password')}}>
  % if 'password' in errors:
  <p class="error" id="password-error">Password {{errors['password']}}</p>
  % end
  <label for="password_again">Password again</label>
  <input id="password_again" name="password_again" type="password" required autocomplete="new-password" {{!attributes('password_again')}}>
  % if 'password_again' in errors:
  <p class="error" id="password_again-error">{{errors['password_again']}}</p>
  % end
  <button type="submit">Add user</button>
</form>
