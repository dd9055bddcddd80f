% rebase('layout.tpl', title='Statistics')
<h1>Statistics</h1>
<dl class="stats">
  <div><dt>Students</dt><dd id="students-count">{{count(numbers['students'])}}</dd></div>
  <div><dt>Grades</dt><dd id="grades-count">{{count(numbers['grades'])}}</dd></div>
  <div><dt>Mean average</dt><dd id="mean">{{one_decimal(numbers['mean'])}}</dd></div>
  <div><dt>Median average</dt><dd id="median">{{one_decimal(numbers['median'])}}</dd></div>
</dl>
<h2 id="chart-heading">Students by average</h2>
% caption = ('Each bar counts the students whose average is in the band (90–100 includes 100). %s of %s students have an average; the mean and the median are of these, each student counted once.' % (count(with_average), count(numbers['students'])))
% include('chart.tpl', title='Number of students whose average falls in each band of ten points', measure='Average', counted='Students', caption=caption, **chart)
