% rebase('layout.tpl', title=klass['name'], wide=True)
% base = '/classes/%d' % klass['id']
%# A column's sort link: to sort by it, or (the average, sorted already) the other way round.
% def sort_link(label, target):
<a href="{{base}}?sort={{target}}">{{label}}</a>
% end
<p class="back"><a href="/classes">← Classes</a></p>
<h1>{{klass['name']}}</h1>
<p class="summary">{{'Teacher: ' + teacher if teacher else 'No teacher: administrators only'}}
  · {{count(len(students))}} student{{'' if len(students) == 1 else 's'}}
  · {{count(len(assignments))}} assignment{{'' if len(assignments) == 1 else 's'}}</p>
<nav class="class-links" aria-label="This class">
  <a href="{{base}}/assignments/new">Add assignment</a>
  <a href="{{base}}/settings">Categories and letters</a>
  <a href="{{base}}/roster">Roster</a>
  <a href="{{base}}/statistics">Statistics</a>
  <a href="{{base}}.csv">Export CSV</a>
  <a href="{{base}}/import">Import</a>
</nav>

% if not students or not assignments:
<div class="next-steps" id="next-steps">
  % if not students:
  <p>No students in this class yet. Add them on the <a href="{{base}}/roster#add-student">roster</a>, or import a file of scores with their names.</p>
  % end
  % if not assignments:
  <p>No assignments yet. <a href="{{base}}/assignments/new">Add the first assignment</a>, then enter every student's points for it on one page.</p>
  % end
</div>
% end

% if students:
<div class="table-wrap grid-wrap" tabindex="0" role="region" aria-labelledby="grid-caption">
<table id="grid" class="grid">
  <caption id="grid-caption">Scores of {{klass['name']}}, by {{sorts[sort]}}</caption>
  <thead>
    <tr>
      <th scope="col" class="name"{{!' aria-sort="ascending"' if sort == 'name' else ''}}>
        % sort_link('Student', 'name')
      </th>
      % for a in assignments:
      <th scope="col" class="assignment" id="a-{{a['id']}}">
        <a href="{{base}}/assignments/{{a['id']}}">{{a['title']}}</a>
        <span class="meta">{{a['category']}} · /{{points_text(a['max_points'])}}</span>
        % if a['due']:
        <span class="meta">Due <time datetime="{{a['due']}}">{{due_text(a['due'])}}</time></span>
        % end
      </th>
      % end
      <th scope="col" class="num"{{!' aria-sort="%s"' % ('ascending' if sort == 'average' else 'descending') if sort != 'name' else ''}}>
        % sort_link('Average', 'average' if sort == '-average' else '-average')
      </th>
      <th scope="col">Letter</th>
    </tr>
  </thead>
  <tbody>
  % for s in students:
    <tr id="student-{{s['id']}}">
      <th scope="row" class="name"><a href="{{base}}/students/{{s['id']}}">{{s['last_name']}}, {{s['first_name']}}</a></th>
      % for a in assignments:
      %   score = s['scores'].get(str(a['id']))
      %   points = points_text(score['points']) if score else ''
      %   mark = marks.get(score['mark']) if score else None
      <td class="num"><a href="{{base}}/assignments/{{a['id']}}#points-{{s['id']}}">{{points}}{{!'<span class="visually-hidden">No score</span><span aria-hidden="true">·</span>' if not points and not mark else ''}}
        % if mark:
        <abbr class="mark mark-{{score['mark']}}" title="{{mark[1]}}">{{mark[0]}}</abbr><span class="visually-hidden"> ({{mark[1].lower()}})</span>
        % end
      </a></td>
      % end
      <td class="num average">{{percent(s['average'])}}</td>
      <td class="letter">{{s['letter'] or '—'}}</td>
    </tr>
  % end
  </tbody>
  % if assignments:
  <tfoot>
    <tr>
      <th scope="row" class="name">Class mean</th>
      % for a in assignments:
      <td class="num">{{figure(a['stats']['mean'])}}</td>
      % end
      <td class="num">{{percent(statistics.get('mean'))}}</td>
      <td></td>
    </tr>
  </tfoot>
  % end
</table>
</div>
<p class="summary legend">Points in each cell; a column's maximum under its title. Marks: <abbr title="Missing">M</abbr> missing (counts as 0),
  <abbr title="Excused">EX</abbr> excused (does not count), <abbr title="Late">L</abbr> late. A student's average weighs
  each category as set in <a href="{{base}}/settings">categories and letters</a>.</p>
% end
