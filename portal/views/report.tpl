% base = '/classes/%d' % klass['id']
% name = student['first_name'] + ' ' + student['last_name']
% rebase('layout.tpl', title=name + ' · ' + klass['name'])
<p class="back"><a href="{{base}}#student-{{student['id']}}">← {{klass['name']}}</a></p>
<h1>{{name}}</h1>
<p class="summary">{{klass['name']}} · report</p>
<dl class="stats report-result">
  <div><dt>Average</dt><dd id="average">{{percent(student['average'])}}</dd></div>
  <div><dt>Letter</dt><dd id="letter">{{student['letter'] or '—'}}</dd></div>
</dl>

<h2 id="assignments">Assignments</h2>
% if not assignments:
<p class="next-steps">The class has no assignments yet.</p>
% else:
<div class="table-wrap report-wrap" tabindex="0" role="region" aria-labelledby="report-caption">
<table id="report" class="report">
  <caption id="report-caption">Assignments of {{klass['name']}} and {{name}}'s scores</caption>
  <thead><tr><th scope="col">Assignment</th><th scope="col">Category</th><th scope="col">Due</th>
    <th scope="col" class="num">Points</th><th scope="col">Mark</th><th scope="col">Comment</th></tr></thead>
  <tbody>
  % for a in assignments:
  %   score = student['scores'].get(str(a['id'])) or {}
  %   mark = marks.get(score.get('mark'))
    <tr>
      <th scope="row">{{a['title']}}</th>
      <td>{{a['category']}}</td>
      <td>{{due_text(a['due'])}}</td>
      <td class="num">{{points_text(score.get('points')) or '—'}} / {{points_text(a['max_points'])}}</td>
      <td>{{mark[1] if mark else ''}}</td>
      <td class="comment">{{score.get('comment') or ''}}</td>
    </tr>
  % end
  </tbody>
</table>
</div>
% end

<h2 id="categories">By category</h2>
<div class="table-wrap report-wrap">
<table id="by-category" class="report">
  <caption class="visually-hidden">Points earned over points possible in each category, and its weight</caption>
  <thead><tr><th scope="col">Category</th><th scope="col" class="num">Weight</th><th scope="col" class="num">Points</th>
    <th scope="col" class="num">Percent</th></tr></thead>
  <tbody>
  % for c in categories:
    <tr><th scope="row">{{c['name']}}</th><td class="num">{{points_text(c['weight'])}}%</td>
      <td class="num">{{(points_text(c['earned']) + ' / ' + points_text(c['possible'])) if c['possible'] else '—'}}</td>
      <td class="num">{{percent(c['percent'])}}</td></tr>
  % end
  </tbody>
</table>
</div>
<p class="summary">Missing counts as 0 points; excused does not count. The average weighs each category that has a
  counted score by its weight.</p>
