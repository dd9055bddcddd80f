% rebase('layout.tpl', title='Temporarily unavailable')
<h1>Temporarily unavailable</h1>
<p>{{service[0].upper() + service[1:]}} is not answering right now, so this page cannot be shown.
   Nothing was lost. Reload the page in a few seconds to try again.</p>
<p><a href="">Reload</a></p>
