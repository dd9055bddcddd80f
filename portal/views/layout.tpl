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
  % if user:
  %   links = [('/classes', 'Classes'), ('/students', 'Students'), ('/import', 'Import'), ('/statistics', 'Statistics')]
  %   links += [('/users', 'Users'), ('/cluster', 'Cluster')] if user.is_admin else []
  %# The section the page is in is marked too: a class's page is under Classes, a grade's history under Students.
  %   sections = {'/grades': '/students'}
  %   section = '/' + path.split('/')[1]
  %   section = sections.get(section, section)
  <nav aria-label="Main">
  % for href, label in links:
  %   if path == href:
    <a href="{{href}}" aria-current="page">{{label}}</a>
  %   elif section == href:
    <a href="{{href}}" aria-current="location">{{label}}</a>
  %   else:
    <a href="{{href}}">{{label}}</a>
  %   end
  % end
  </nav>
  <form method="post" action="/logout" class="account">
    <span class="who">{{user.display_name}}<span class="visually-hidden"> is signed in</span>
      <span class="role">({{user.role}})</span></span>
    <input type="hidden" name="csrf_token" value="{{csrf}}">
    <button type="submit">Sign out</button>
  </form>
  % end
</header>
%# ``wide=True``: a page whose table wants the whole window (a class's grid of scores).
<main id="main" tabindex="-1"{{!' class="wide-page"' if get('wide', False) else ''}}>
% if flash:
  <p class="flash" role="status">{{flash}}</p>
% end
{{!base}}
</main>
<footer>trace: <code>{{trace_id}}</code></footer>
</body>
</html>
