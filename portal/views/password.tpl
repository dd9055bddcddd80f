% rebase('layout.tpl', title='Set the password of ' + who['username'])
<p class="back"><a href="/users">← Users</a></p>
<h1>Set the password of {{who['display_name']}} <span class="count">({{who['username']}})</span></h1>
% if who['username'] == user.username:
<p>This is your own account: once the password is set, you sign in again with the new one.</p>
% else:
<p>Every session {{who['username']}} has open ends, on every portal: they sign in again with the new password.</p>
% end
% first = next((f for f in ('password', 'password_again') if f in errors), None)
% def attributes(field):
%   return ('aria-invalid="true" aria-describedby="%s-error" ' % field if field in errors else '') + ('autofocus' if first == field else '')
% end
<form method="post" action="/users/{{who['username']}}/password" class="card" novalidate>
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <label for="password">New password <span class="hint">({{hint}})</span></label>
  <input id="password" name="password" type="password" required autocomplete="new-password" {{!attributes('password')}}>
  % if 'password' in errors:
  <p class="error" id="password-error">Password {{errors['password']}}</p>
  % end
  <label for="password_again">New password again</label>
  <input id="password_again" name="password_again" type="password" required autocomplete="new-password" {{!attributes('password_again')}}>
  % if 'password_again' in errors:
  <p class="error" id="password_again-error">{{errors['password_again']}}</p>
  % end
  <button type="submit">Set the password</button>
</form>
