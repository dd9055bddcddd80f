% rebase('layout.tpl', title='Temporarily unavailable')
<h1>Temporarily unavailable</h1>
% if reason:
<p>{{service[0].upper() + service[1:]}} cannot store anything right now: {{reason}}.
   Nothing was stored and nothing was lost. Try again once an administrator has made room.</p>
% else:
<p>{{service[0].upper() + service[1:]}} is not answering right now, so this page cannot be shown.
   Nothing was lost. Reload the page in a few seconds to try again.</p>
% end
<p><a href="">Reload</a></p>
