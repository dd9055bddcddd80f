% rebase('layout.tpl', title='Import grades')
<h1>Import grades</h1>
<p>Upload a CSV file with the columns <code>student_id,title,type,score</code>, in any order; the
   <code>first_name</code> and <code>last_name</code> columns of a <a href="/students.csv" download>downloaded file</a>
   may stay and are ignored. Every row is added as a new grade: all of them or, if one is wrong, none.</p>
% if get('problem'):
<div class="problem" role="alert">
  <p class="error">{{problem}}</p>
  % if get('filename'):
  <p class="summary">File: {{filename}}</p>
  % end
</div>
% end
<form method="post" action="/import" enctype="multipart/form-data" class="card">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="request_id" value="{{request_id}}">
  <label for="file">CSV file (at most {{max_mib}} MiB)</label>
  <input id="file" name="file" type="file" accept=".csv,text/csv" required
         {{!'aria-invalid="true"' if get('problem') else ''}}>
  % if classes:
  <label for="class_id">Class</label>
  <select id="class_id" name="class_id" aria-describedby="class-hint">
    <option value="">Each student's own class</option>
  % for c in classes:
    <option value="{{c['id']}}"{{!' selected' if get('chosen') == c['id'] else ''}}>{{c['name']}}</option>
  % end
  </select>
  <p class="hint" id="class-hint">A student in several of your classes needs one chosen here.</p>
  % end
  <button type="submit">Import</button>
</form>
<h2>The format</h2>
<ul class="format">
  <li><code>type</code> is one of {{", ".join(types)}}; <code>score</code> a number from 0 to 100;
      <code>title</code> 1 to 200 characters; <code>student_id</code> a student's number.</li>
  <li>The file is UTF-8 text (a spreadsheet's "CSV UTF-8"); the first line is the header.</li>
  <li>A text that starts with <code>=</code>, <code>+</code>, <code>-</code> or <code>@</code> is exported with an
      apostrophe before it, so that a spreadsheet shows it instead of running it; import takes it off again.</li>
</ul>
