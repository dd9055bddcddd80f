% rebase('layout.tpl', title='Statistics of ' + klass['name'])
<p class="back"><a href="/classes/{{klass['id']}}">← {{klass['name']}}</a></p>
<h1>Statistics of {{klass['name']}}</h1>
<p class="summary">Over the students' weighted averages: each category's points earned over points possible, weighted
  as the class's settings say.</p>
<dl class="stats">
  <div><dt>Students</dt><dd id="students-count">{{count(numbers['students'])}}</dd></div>
  <div><dt>With an average</dt><dd id="graded-count">{{count(numbers['graded'])}}</dd></div>
  <div><dt>Mean average</dt><dd id="mean">{{figure(numbers['mean'])}}</dd></div>
  <div><dt>Median average</dt><dd id="median">{{figure(numbers['median'])}}</dd></div>
</dl>
<h2 id="chart-heading">Students by average</h2>
% caption = 'Each bar counts the students whose weighted average is in the band (90–100 includes 100). %s of %s students have an average.' % (count(numbers['graded']), count(numbers['students']))
% include('chart.tpl', title='Number of students whose weighted average falls in each band of ten points', measure='Average', counted='Students', caption=caption, **chart)
<h2 id="assignments-heading">Assignments</h2>
% if assignments:
<div class="table-wrap" tabindex="0" role="region" aria-labelledby="assignments-heading">
<table id="assignment-stats">
  <thead><tr><th scope="col">Assignment</th><th scope="col" class="num">Points possible</th><th scope="col" class="num">Mean</th>
    <th scope="col" class="num">Median</th><th scope="col" class="num">Min</th><th scope="col" class="num">Max</th>
    <th scope="col" class="num">Missing</th></tr></thead>
  <tbody>
  % for a in assignments:
  %   s = a['stats']
    <tr><th scope="row"><a href="/classes/{{klass['id']}}/assignments/{{a['id']}}/statistics">{{a['title']}}</a></th>
      <td class="num">{{figure(a['max_points'], 0) if float(a['max_points']).is_integer() else figure(a['max_points'], 2)}}</td>
      <td class="num">{{figure(s['mean'])}}</td><td class="num">{{figure(s['median'])}}</td>
      <td class="num">{{figure(s['min'])}}</td><td class="num">{{figure(s['max'])}}</td>
      <td class="num">{{count(s['missing'])}}</td></tr>
  % end
  </tbody>
</table>
</div>
<p class="summary">Points, over the scores that count: a missing one counts 0; excused ones and students without a
  score are left out.</p>
% else:
<p class="empty">The class has no assignments yet.</p>
% end
