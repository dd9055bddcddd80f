<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · Teacher portal</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="top">
  <a class="brand" href="/students">Teacher portal</a>
  <nav aria-label="Main">
  % for href, label in (('/students', 'Students'), ('/statistics', 'Statistics'), ('/import', 'Import'), ('/cluster', 'Cluster')):
    <a href="{{href}}"{{!' aria-current="page"' if path == href else ''}}>{{label}}</a>
  % end
  </nav>
</header>
<main id="main" tabindex="-1">
% if flash:
  <p class="flash" role="status">{{flash}}</p>
% end
{{!base}}
</main>
<footer>trace: <code>{{trace_id}}</code></footer>
</body>
</html>
