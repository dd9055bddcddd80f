%# A table of audit entries (portal.audit_entries.Entry): when, who, what was done, each field old → new.
%# ``show_what``: a column naming what each entry changed (a class's changes name many things).
<div class="table-wrap" tabindex="0" role="region" aria-label="{{caption}}">
<table class="changes">
  <caption class="visually-hidden">{{caption}}</caption>
  <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th>
  % if show_what:
    <th scope="col">What</th>
  % end
    <th scope="col">Before → after</th></tr></thead>
  <tbody>
  % for e in entries:
    <tr>
      <td>
      % if e.at:
        <time datetime="{{e.at}}">{{e.when}}</time>
      % else:
        {{e.when}}
      % end
      </td>
      <td>{{e.user}}</td>
      <td>{{e.action}}</td>
      % if show_what:
      <td>{{e.what}}</td>
      % end
      <td>
      % if e.changes:
        <ul class="diff">
        % for c in e.changes:
          <li><span class="field">{{c.field}}:</span>
          % if c.before is not None and c.after is not None:
            <del>{{c.before}}</del> <span aria-hidden="true">→</span><span class="visually-hidden"> changed to </span> <ins>{{c.after}}</ins>
          % elif c.after is not None:
            <ins>{{c.after}}</ins>
          % else:
            <del>{{c.before}}</del>
          % end
          </li>
        % end
        </ul>
      % else:
        —
      % end
      </td>
    </tr>
  % end
  % if not entries:
    <tr><td colspan="{{5 if show_what else 4}}" class="empty">No changes recorded yet.</td></tr>
  % end
  </tbody>
</table>
</div>
