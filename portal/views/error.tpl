% rebase('layout.tpl', title=title)
<h1>{{title}}</h1>
<p>{{message}}</p>
<p><a href="/students">Back to the students</a></p>
