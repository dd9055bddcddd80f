% rebase('layout.tpl', title='Sign in')
<h1>Sign in</h1>
<form method="post" action="/login" class="card" aria-labelledby="sign-in-heading">
  <h2 id="sign-in-heading" class="visually-hidden">Sign in to the teacher portal</h2>
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="next" value="{{next_path}}">
  % if problem:
  <p class="error" id="sign-in-error" role="alert">{{problem}}</p>
  % end
  % described = ' aria-describedby="sign-in-error"' if problem else ''
  <label for="username">Username</label>
  <input id="username" name="username" value="{{username}}" required autocomplete="username"
         autocapitalize="none" spellcheck="false" maxlength="64"{{!described}}{{!'' if username else ' autofocus'}}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required autocomplete="current-password"{{!described}}{{!' autofocus' if username else ''}}>
  <button type="submit">Sign in</button>
</form>
<p class="summary">No account yet, or a forgotten password? An administrator of the portal sets them.</p>
