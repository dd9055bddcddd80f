% rebase('layout.tpl', title='Statistics')
<h1>Statistics</h1>
<dl class="stats">
  <div><dt>Students</dt><dd id="students-count">{{count(numbers['students'])}}</dd></div>
  <div><dt>Grades</dt><dd id="grades-count">{{count(numbers['grades'])}}</dd></div>
  <div><dt>Mean average</dt><dd id="mean">{{one_decimal(numbers['mean'])}}</dd></div>
  <div><dt>Median average</dt><dd id="median">{{one_decimal(numbers['median'])}}</dd></div>
</dl>
<h2 id="chart-heading">Students by average</h2>
% bands = ', '.join('%s: %s' % (b.label, count(b.count)) for b in bars)
<figure class="chart">
  <svg id="chart" viewBox="0 0 {{width}} {{height}}" role="img" aria-labelledby="chart-title chart-desc"
       preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">
    <title id="chart-title">Number of students whose average falls in each band of ten points</title>
    <desc id="chart-desc">{{bands}}.</desc>
    <line x1="{{bars_start}}" y1="0" x2="{{bars_start}}" y2="{{height}}" class="axis"/>
    % for b in bars:
    <g class="band">
      <text x="{{labels_end}}" y="{{b.text_y}}" class="label" text-anchor="end" dominant-baseline="central">{{b.label}}</text>
      <rect x="{{bars_start}}" y="{{b.y}}" width="{{'%.1f' % b.width}}" height="{{bar_height}}" class="bar"/>
      <text x="{{'%.1f' % (bars_start + b.width + 6)}}" y="{{b.text_y}}" class="count" dominant-baseline="central">{{count(b.count)}}</text>
    </g>
    % end
  </svg>
  <figcaption>Each bar counts the students whose average is in the band (90–100 includes 100).
    {{count(with_average)}} of {{count(numbers['students'])}} students have an average; the mean and the median are
    of these, each student counted once.</figcaption>
</figure>
<div class="table-wrap" tabindex="0" role="region" aria-label="The chart's numbers">
<table id="distribution">
  <caption>The chart's numbers</caption>
  <thead><tr><th scope="col">Average</th><th scope="col" class="num">Students</th></tr></thead>
  <tbody>
  % for b in bars:
    <tr><th scope="row">{{b.label}}</th><td class="num">{{count(b.count)}}</td></tr>
  % end
  </tbody>
</table>
</div>
