% rebase('layout.tpl', title=title)
<h1>{{title}}</h1>
<p>{{message}}</p>
% if user:
<p>Go to <a href="/classes">{{'the classes' if user.is_admin else 'your classes'}}</a> or <a href="/students">the students</a>.</p>
% else:
<p><a href="/login">Sign in</a></p>
% end
