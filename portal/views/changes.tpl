%# Audit entries (portal.audit_entries.Entry), in the order given: when, who, what was done, and each
%# field's old and new value. ``show_what``: name what each entry changed (a class's changes name many things).
% if entries:
<ol class="changes" aria-label="{{caption}}">
  % for e in entries:
  <li class="change">
    <p class="change-head">
    % if e.at:
      <time datetime="{{e.at}}">{{e.when}}</time>
    % else:
      {{e.when}}
    % end
      · <span class="who">{{e.user}}</span> · <strong>{{e.action}}</strong>
    % if show_what and e.href:
      <a href="{{e.href}}">{{e.what}}</a></p>
    % elif show_what:
      {{e.what}}</p>
    % else:
    </p>
    % end
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
    % end
  </li>
  % end
</ol>
% else:
<p class="empty">No changes recorded yet.</p>
% end
