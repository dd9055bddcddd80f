% rebase('layout.tpl', title=title)
<h1>{{title}}</h1>
<p>{{message}}</p>
% if user:
<p><a href="/students">Back to the students</a></p>
% else:
<p><a href="/login">Sign in</a></p>
% end
