% rebase('layout.tpl', title='Cluster')
<h1>Cluster</h1>
% for problem in unavailable:
<p class="error" role="alert">{{problem}}</p>
% end
<p class="summary">Calls, errors and p99 over the last minute, from each instance's <code>/metrics</code>
(scraped every few seconds; heartbeats not counted; the portal counts its pages).</p>
<p class="live-controls"><a href="{{'/cluster' + ('?' + query if query else '')}}">Refresh</a>
<span id="live-state"></span></p>
<section id="live-services" aria-labelledby="services-heading">
<h2 id="services-heading">Services</h2>
<div class="table-wrap" tabindex="0" role="region" aria-label="Services table">
<table class="wide services">
  <thead><tr><th scope="col">Service</th><th scope="col">Instances passing</th><th scope="col" class="num">Calls/s</th>
  <th scope="col" class="num">Errors/s</th><th scope="col" class="num">p99</th></tr></thead>
  <tbody>
  % for s in services:
    <tr class="service">
      <th scope="row"><a href="{{s['log_href']}}" title="This service's log lines">{{s['name']}}</a></th>
      <td><span class="status {{'passing' if s['passing'] == len(s['instances']) else 'critical'}}">{{s['passing']}} of {{len(s['instances'])}}</span></td>
      <td class="num">{{figure(s['calls'])}}</td>
      <td class="num">{{figure(s['errors'], 2)}}</td>
      <td class="num">{{figure(s['p99_ms'], unit='ms')}}</td>
    </tr>
    % for row, figures, scrape in s['instances']:
    <tr class="instance">
      <td><code>{{row['service_url']}}</code></td>
      <td><span class="status {{row['status']}}">{{row['status']}}</span>{{' (%d failed)' % row['failures'] if row['failures'] else ''}}
        <span class="summary">{{('checked ' + row['last_checked'][11:19]) if row['last_checked'] else ''}}</span>
      % if scrape is not None and scrape.last_error:
        <span class="summary scrape-error">Metrics not read: {{scrape.last_error}}</span>
      % end
      </td>
      <td class="num">{{figure(figures and figures.calls_per_second)}}</td>
      <td class="num">{{figure(figures and figures.errors_per_second, 2)}}</td>
      <td class="num">{{figure(figures and figures.p99_seconds and 1000 * figures.p99_seconds, unit='ms')}}</td>
    </tr>
    % end
  % end
  % if not services:
    <tr><td colspan="5">No services registered.</td></tr>
  % end
  </tbody>
</table>
</div>
<p class="summary">Checks by: {{', '.join(checked_by) or 'the registry'}}. A dash: no figures yet (an instance is scraped twice before its rates show).</p>
</section>
<h2 id="log">Log</h2>
<form class="filters" method="get" action="/cluster#log">
  <label>Service <select name="service">
    <option value=""{{!' selected' if not filters['service'] else ''}}>all</option>
    % for name in names:
    <option{{!' selected' if filters['service'] == name else ''}}>{{name}}</option>
    % end
  </select></label>
  % if problems.get('service'):
  <p class="error" id="service-error">Service {{problems['service']}}</p>
  % end
  <label>Level <select name="level">
    <option value=""{{!' selected' if not filters['level'] else ''}}>any</option>
    % for level in levels:
    <option{{!' selected' if filters['level'] == level else ''}}>{{level}}</option>
    % end
  </select></label>
  % if problems.get('level'):
  <p class="error">Level {{problems['level']}}</p>
  % end
  <label>Trace id <input name="trace" value="{{filters['trace']}}" size="34" maxlength="64" autocomplete="off"
    spellcheck="false"{{!' aria-invalid="true"' if problems.get('trace') else ''}}></label>
  % if problems.get('trace'):
  <p class="error">Trace id {{problems['trace']}}</p>
  % end
  <button type="submit">Show</button>
  % if any(filters.values()):
  <a href="/cluster#log">Clear</a>
  % end
</form>
<section id="live-log" aria-labelledby="log">
% if filters['trace'] and not problems:
<p class="summary">The whole path of trace <code>{{filters['trace']}}</code>: {{len(lines)}} entries, oldest first.</p>
% end
<div class="table-wrap" tabindex="0" role="region" aria-label="Log table">
<table class="log wide">
  <thead><tr><th scope="col">Time</th><th scope="col">Level</th><th scope="col">Service</th><th scope="col">Trace</th><th scope="col">Message</th></tr></thead>
  <tbody>
  % for line in lines:
    <tr class="level-{{line.get('level') or ''}}">
      <td>{{(line.get('timestamp') or '')[11:23]}}</td><td>{{line.get('level')}}</td>
      <td>{{line.get('service_name') or '—'}}</td>
      <td>
      % if line['trace_href']:
        <a href="{{line['trace_href']}}" title="The whole path of this trace"><code>{{line['trace_id'][:8]}}</code></a>
      % else:
        —
      % end
      </td>
      <td class="message">{{line.get('message')}}</td>
    </tr>
  % end
  % if not lines:
    <tr><td colspan="5">{{'No log lines.' if not any(filters.values()) else 'No log lines match.'}}</td></tr>
  % end
  </tbody>
</table>
</div>
</section>
<script src="/static/cluster.js" defer></script>
