% rebase('layout.tpl', title='Statistics of ' + assignment['title'])
% possible = figure(assignment['max_points'], 0) if float(assignment['max_points']).is_integer() else figure(assignment['max_points'], 2)
<p class="back"><a href="/classes/{{klass['id']}}/statistics">← Statistics of {{klass['name']}}</a></p>
<h1>Statistics of {{assignment['title']}}</h1>
<p class="summary">{{klass['name']}} · {{assignment['category']}} · {{possible}} points{{' · due ' + assignment['due'] if assignment.get('due') else ''}}</p>
<div class="table-wrap" tabindex="0" role="region" aria-labelledby="points-caption">
<table id="figures">
  <caption id="points-caption">Over the scores that count (a missing one counts 0)</caption>
  <thead><tr><th scope="col"><span class="visually-hidden">Figure</span></th><th scope="col" class="num">Points (of {{possible}})</th><th scope="col" class="num">%</th></tr></thead>
  <tbody>
  % for label, key in (('Mean', 'mean'), ('Median', 'median'), ('Min', 'min'), ('Max', 'max')):
    <tr id="{{key}}"><th scope="row">{{label}}</th><td class="num">{{figure(stats[key])}}</td><td class="num">{{figure(percent(stats[key], assignment))}}</td></tr>
  % end
  </tbody>
</table>
</div>
<dl class="stats">
  <div><dt>Scored</dt><dd id="scored-count">{{count(stats['scored'])}}</dd></div>
  <div><dt>Missing</dt><dd id="missing-count">{{count(stats['missing'])}}</dd></div>
  <div><dt>Excused</dt><dd id="excused-count">{{count(stats['excused'])}}</dd></div>
  <div><dt>Late</dt><dd id="late-count">{{count(stats['late'])}}</dd></div>
</dl>
<h2 id="chart-heading">Scores by percentage</h2>
% caption = 'Each bar counts the scores whose percentage of the points possible is in the band (90–100 includes 100); a missing score counts 0, excused ones are left out. %s students on the roster.' % count(students)
% include('chart.tpl', title='Number of scores whose percentage falls in each band of ten points', measure='Score (%)', counted='Scores', caption=caption, **chart)
