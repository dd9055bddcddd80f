% rebase('layout.tpl', title='Students')
<h1>Students <span class="count">{{count(total)}}{{' found' if query else ''}}</span></h1>
<form method="get" action="/students" class="search" role="search">
  <label for="q">Search by name</label>
  <div class="inline">
    <input id="q" name="q" type="search" value="{{query}}" maxlength="100" autocomplete="off"
           {{!'aria-invalid="true" aria-describedby="q-error"' if 'q' in errors else ''}}>
    <input type="hidden" name="sort" value="{{sort}}">
    <button type="submit">Search</button>
  </div>
  % if 'q' in errors:
  <p class="error" id="q-error" role="alert">Search {{errors['q']}}</p>
  % end
</form>
<nav class="sorts" aria-label="Sort the students">
  <span>Sort by:</span>
  % for key, label in sorts:
  %   if key == sort:
  <strong aria-current="true">{{label}}</strong>
  %   else:
  <a href="{{link('/students', q=query, sort=None if key == sorts[0][0] else key)}}">{{label}}</a>
  %   end
  % end
</nav>
<p class="summary">Average here is the plain mean of a student's scores, as percentages, over every class:
a class's weighted average and letter are on its grid, under <a href="/classes">Classes</a>.</p>
<div class="table-wrap" tabindex="0" role="region" aria-label="Students">
<table id="students">
%# Last name first, as the list sorts by name: "Carter, Nick" comes before "Stone, Emma".
  <thead><tr><th scope="col">Name (last, first)</th><th scope="col" class="num">Grades</th><th scope="col" class="num">Average</th></tr></thead>
  <tbody>
%# A count and a figure are digits and punctuation, never HTML: not escaped again, 50 times a page.
  % for s in students:
    <tr>
      <td><a href="/students/{{s['id']}}">{{s['last_name']}}, {{s['first_name']}}</a></td>
      <td class="num">{{!count(s['grade_count'])}}</td>
      <td class="num">{{!one_decimal(s['average'])}}</td>
    </tr>
  % end
  % if not students and query:
    <tr><td colspan="3" class="empty">No student's name matches “{{query}}”. <a href="{{link('/students', sort=sort_param)}}">Show all students</a></td></tr>
  % elif not students:
    <tr><td colspan="3" class="empty">No students yet.</td></tr>
  % end
  </tbody>
</table>
</div>
% if pages > 1:
<nav class="pager" aria-label="Pages">
  % if page > 1:
  <a href="{{link('/students', q=query, sort=sort_param, page=page - 1 if page > 2 else None)}}" rel="prev">← Previous</a>
  % end
  <span>Page {{count(page)}} of {{count(pages)}}</span>
  % if page < pages:
  <a href="{{link('/students', q=query, sort=sort_param, page=page + 1)}}" rel="next">Next →</a>
  % end
</nav>
% end
<p class="tools"><a href="/students.csv" download>Download all grades (CSV)</a> · <a href="/import">Import grades</a></p>

<h2 id="add-student">Add a student</h2>
%# The list above can be a screen long or more: the first field with a problem takes the focus, which
%# also scrolls the form into view. No maxlength: a pasted longer name gets a message, never a silent cut.
%# A problem with no field of its own (the form already used, a bad request_id) is said above the fields.
% general = [errors[f] for f in errors if f not in ('q', 'class_id') + tuple(f for f, _ in name_fields)]
% invalid = [field for field, _ in name_fields if field in errors] or (['first_name'] if general else [])
<form method="post" action="/students" class="card" novalidate aria-labelledby="add-student">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="request_id" value="{{request_id}}">
  % if general:
  <p class="error" id="student-form-error" role="alert">{{' '.join(general)}}</p>
  % end
  % for field, label in name_fields:
  %   described = ' '.join(['%s-error' % field] * (field in errors) + ['student-form-error'] * bool(general and field == 'first_name'))
  <label for="{{field}}">{{label}} <span class="hint">(at most {{max_name}} characters)</span></label>
  <input id="{{field}}" name="{{field}}" value="{{values.get(field, '')}}" required autocomplete="off"
         {{!'aria-invalid="true"' if field in errors else ''}}{{!' aria-describedby="%s"' % described if described else ''}}{{!' autofocus' if invalid and invalid[0] == field else ''}}>
  % if field in errors:
  <p class="error" id="{{field}}-error">{{label}} {{errors[field]}}</p>
  % end
  % end
  % if classes:
  <label for="class_id">Class</label>
  <select id="class_id" name="class_id"{{!' aria-invalid="true" aria-describedby="class_id-error"' if 'class_id' in errors else ''}}{{!' autofocus' if 'class_id' in errors and not invalid else ''}}>
  % for c in classes:
    <option value="{{c['id']}}"{{!' selected' if values.get('class_id') == str(c['id']) else ''}}>{{c['name']}}</option>
  % end
  </select>
  % if 'class_id' in errors:
  <p class="error" id="class_id-error">Class {{errors['class_id']}}</p>
  % end
  % end
  <button type="submit">Add student</button>
</form>
