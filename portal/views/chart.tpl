%# A distribution drawn on the server (portal.pages.gradebook.statistics.chart): a bar for each band,
%# then the same numbers as a table. ``title``: what the chart shows, for assistive technology; ``measure``
%# and ``counted``: the table's column heads ("Average", "Students"); ``caption``: the figure's caption.
% bands = ', '.join('%s: %s' % (b.label, count(b.count)) for b in bars)
<figure class="chart">
  <svg id="chart" viewBox="0 0 {{width}} {{height}}" role="img" aria-labelledby="chart-title chart-desc"
       preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">
    <title id="chart-title">{{title}}</title>
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
  <figcaption>{{caption}}</figcaption>
</figure>
<div class="table-wrap" tabindex="0" role="region" aria-label="The chart's numbers">
<table id="distribution">
  <caption>The chart's numbers</caption>
  <thead><tr><th scope="col">{{measure}}</th><th scope="col" class="num">{{counted}}</th></tr></thead>
  <tbody>
  % for b in bars:
    <tr><th scope="row">{{b.label}}</th><td class="num">{{count(b.count)}}</td></tr>
  % end
  </tbody>
</table>
</div>
