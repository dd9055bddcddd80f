% rebase('layout.tpl', title='Import grades into ' + klass['name'])
<p class="back"><a href="/classes/{{klass['id']}}">← {{klass['name']}}</a></p>
<h1>Import grades into {{klass['name']}}</h1>
<p>Upload the class's grades as a CSV file: the <a href="/classes/{{klass['id']}}.csv" download>exported grid</a>
   with your changes, or a file with the columns <code>student_id,title,type,score</code>. You see every change
   before anything is stored.</p>
% if get('problem'):
<div class="problem" role="alert">
  <p class="error" id="file-error">{{problem}}</p>
  % if get('filename'):
  <p class="summary">File: {{filename}}</p>
  % end
</div>
% end
<form method="post" action="/classes/{{klass['id']}}/import" enctype="multipart/form-data" class="card">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <label for="file">CSV file (at most {{max_mib}} MiB)</label>
  <input id="file" name="file" type="file" accept=".csv,text/csv" required
         {{!'aria-invalid="true" aria-describedby="file-error"' if get('problem') else ''}}>
  <div class="check">
    <input id="add_students" name="add_students" type="checkbox" value="yes" aria-describedby="add-hint"{{!' checked' if get('add_students') else ''}}>
    <label for="add_students">Add students not on the roster</label>
  </div>
  <p class="hint" id="add-hint">A row without a <code>student_id</code>, or with a student who is not in this class:
    added to the class only when this is ticked; otherwise its row is left out.</p>
  <button type="submit">Preview the import</button>
</form>
<h2>The format</h2>
<ul class="format">
  <li>The grid: <code>student_id,first_name,last_name</code>, a column for each assignment (its title in the first
      line), then <code>average</code> and <code>letter</code>, which import ignores.</li>
  <li>A cell is empty (the score stays as it is), points such as <code>85</code> or <code>12.5</code>, a mark
      (<code>missing</code>, <code>excused</code>, <code>late</code>), or both: <code>85 late</code>.</li>
  <li>A column whose title names no assignment of the class is a new assignment of 100 points.</li>
  <li>The file is UTF-8 text (a spreadsheet's "CSV UTF-8"); a text exported with an apostrophe before
      <code>=</code>, <code>+</code>, <code>-</code> or <code>@</code> is read without it.</li>
</ul>
