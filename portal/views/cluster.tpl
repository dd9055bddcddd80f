% rebase('layout.tpl', title='Cluster')
<h1>Cluster</h1>
% for problem in problems:
<p class="error" role="alert">{{problem}}</p>
% end
<h2 id="services-heading">Services</h2>
<div class="table-wrap" tabindex="0" role="region" aria-labelledby="services-heading">
<table class="wide">
  <thead><tr><th scope="col">Service</th><th scope="col">Status</th><th scope="col">Last check</th><th scope="col">URL</th></tr></thead>
  <tbody>
  % for s in services:
    <tr>
      <td>{{s['service_name']}}</td>
      <td><span class="status {{s['status']}}">{{s['status']}}</span>{{' (%d failed)' % s['failures'] if s['failures'] else ''}}</td>
      <td>{{(s['last_checked'] or '—').replace('T', ' ')}}</td>
      <td><code>{{s['service_url']}}</code></td>
    </tr>
  % end
  % if not services:
    <tr><td colspan="4">No services registered.</td></tr>
  % end
  </tbody>
</table>
</div>
<p class="summary">Instances: {{', '.join('%s × %d' % (name, count) for name, count in passing) or '—'}} passing</p>
<h2 id="log-heading">Newest log lines</h2>
<div class="table-wrap" tabindex="0" role="region" aria-labelledby="log-heading">
<table class="log wide">
  <thead><tr><th scope="col">Time</th><th scope="col">Level</th><th scope="col">Service</th><th scope="col">Message</th></tr></thead>
  <tbody>
  % for line in lines:
    <tr class="level-{{line.get('level') or ''}}">
      <td>{{(line.get('timestamp') or '')[11:23]}}</td><td>{{line.get('level')}}</td>
      <td>{{line.get('service_name') or '—'}}</td><td class="message">{{line.get('message')}}</td>
    </tr>
  % end
  % if not lines:
    <tr><td colspan="4">No log lines.</td></tr>
  % end
  </tbody>
</table>
</div>
