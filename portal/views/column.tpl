% rebase('layout.tpl', title=assignment['title'] + ' · ' + klass['name'])
% base = '/classes/%d' % klass['id']
% url = '%s/assignments/%d' % (base, assignment['id'])
% most = points_text(assignment['max_points'])
%# The first field with a problem takes the focus; with none, the first student's points (unless a cell's link named a row).
% first = next(('%s-%d' % (next(iter(r.problems)), r.student['id']) for r in rows if r.problems), None)
% first = first or next(('points-%d' % r.student['id'] for r in rows if r.now is not None), None)
% first = first or (None if form_error else 'points-%d' % rows[0].student['id'] if rows else None)
%# A score as a sentence: "7 (late), comment: Well done".
% def said(values):
%   parts = [values['points'] or 'no points']
%   parts += ['(%s)' % marks[values['mark']][1].lower()] if values['mark'] in marks else []
%   text = ' '.join(parts)
%   return text + (', comment “%s”' % values['comment'] if values['comment'] else '')
% end
% def attributes(r, name):
%   sid = r.student['id']
%   described = ['%s-%d-error' % (name, sid)] if name in r.problems else []
%   described += ['now-%d' % sid] if r.now is not None and name == 'points' else []
%   text = ('aria-invalid="true" ' if name in r.problems else '') + ('aria-describedby="%s" ' % ' '.join(described) if described else '')
%   return text + ('autofocus' if first == '%s-%d' % (name, sid) else '')
% end
<p class="back"><a href="{{base}}">← {{klass['name']}}</a></p>
<h1>{{assignment['title']}}</h1>
<p class="summary">{{assignment['category']}} · out of {{most}} points{{(' · due ' + due_text(assignment['due'])) if assignment['due'] else ''}}
  · {{count(len(rows))}} student{{'' if len(rows) == 1 else 's'}}</p>
<nav class="class-links" aria-label="This assignment">
  <a href="{{url}}/edit">Edit the assignment</a>
  <a href="{{url}}/statistics">Statistics</a>
  <a class="button-link" href="{{url}}/delete">Delete the assignment</a>
</nav>

% if form_error:
<div class="problem" role="alert" id="form-error"><p class="error">{{form_error}}</p></div>
% end
% if conflicted:
<div class="problem" role="alert" id="conflicts">
  <p class="error">{{count(len(conflicted))}} score{{' was' if len(conflicted) == 1 else 's were'}} changed by someone else after you opened this page. Nothing was saved.</p>
  <ul>
  % for r in conflicted:
    <li><a href="#points-{{r.student['id']}}">{{r.student['first_name']}} {{r.student['last_name']}}</a>: now {{said(r.now)}}</li>
  % end
  </ul>
  <p>What you typed is kept below. Save again to store it over the scores shown here, or go back to the class to keep them.</p>
</div>
% end
% if troubled:
<div class="problem" role="alert" id="problems">
  <p class="error">Nothing was saved: {{'a row needs' if len(troubled) == 1 else '%d rows need' % len(troubled)}} a change.</p>
  <ul>
  % for r in troubled:
  %   name, problem = next(iter(r.problems.items()))
    <li><a href="#{{name}}-{{r.student['id']}}">{{r.student['first_name']}} {{r.student['last_name']}}</a>: {{name.capitalize()}} {{problem}}</li>
  % end
  </ul>
</div>
% end

% if not rows:
<p class="next-steps">No students in this class yet. Add them on the <a href="{{base}}/roster#add-student">roster</a> first.</p>
% else:
<form method="post" action="{{url}}" id="column-form" class="column-form" novalidate>
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="request_id" value="{{request_id}}">
  <p class="hint" id="entry-hint">Type each student's points (0 to {{most}}); Tab goes on to the mark and the comment.
    <span id="enter-hint" hidden>Enter goes to the next student's points.</span> Empty points, no mark and no comment clear a score.</p>
  <div class="table-wrap column-wrap">
  <table id="column" class="column-entry">
    <caption class="visually-hidden">Points out of {{most}}, mark and comment of each student for {{assignment['title']}}</caption>
    <thead><tr><th scope="col">Student</th><th scope="col">Points <span class="hint">(out of {{most}})</span></th>
      <th scope="col">Mark</th><th scope="col">Comment</th></tr></thead>
    <tbody>
    % for r in rows:
    %   sid = r.student['id']
    %   who = r.student['first_name'] + ' ' + r.student['last_name']
      <tr id="student-{{sid}}"{{!' class="conflict"' if r.now is not None else ''}}>
        <th scope="row">{{r.student['last_name']}}, {{r.student['first_name']}}
          <input type="hidden" name="student" value="{{sid}}">
          % for name in ('points', 'mark', 'comment'):
          <input type="hidden" name="was_{{name}}-{{sid}}" value="{{r.was[name]}}">
          % end
          % if r.now is not None:
          <span class="now" id="now-{{sid}}">Changed meanwhile: now {{said(r.now)}}</span>
          % end
        </th>
        <td><label class="visually-hidden" for="points-{{sid}}">Points of {{who}}</label>
          <input class="points" id="points-{{sid}}" name="points-{{sid}}" value="{{r.typed['points']}}" inputmode="decimal" autocomplete="off" size="6" {{!attributes(r, 'points')}}>
          % if 'points' in r.problems:
          <p class="error" id="points-{{sid}}-error">Points {{r.problems['points']}}</p>
          % end
        </td>
        <td><label class="visually-hidden" for="mark-{{sid}}">Mark of {{who}}</label>
          <select id="mark-{{sid}}" name="mark-{{sid}}" {{!attributes(r, 'mark')}}>
            <option value="">none</option>
            % for value, (badge, word) in marks.items():
            <option value="{{value}}"{{!' selected' if r.typed['mark'] == value else ''}}>{{word.lower()}}</option>
            % end
          </select>
          % if 'mark' in r.problems:
          <p class="error" id="mark-{{sid}}-error">Mark {{r.problems['mark']}}</p>
          % end
        </td>
        <td><label class="visually-hidden" for="comment-{{sid}}">Comment on {{who}}</label>
          <input id="comment-{{sid}}" name="comment-{{sid}}" value="{{r.typed['comment']}}" maxlength="{{max_comment}}" autocomplete="off" {{!attributes(r, 'comment')}}>
          % if 'comment' in r.problems:
          <p class="error" id="comment-{{sid}}-error">Comment {{r.problems['comment']}}</p>
          % end
        </td>
      </tr>
    % end
    </tbody>
  </table>
  </div>
  <div class="buttons"><button type="submit" id="save">Save scores</button> <a href="{{base}}">Cancel</a></div>
</form>
<script src="/static/column.js" defer></script>
% end
