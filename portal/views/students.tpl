% rebase('layout.tpl', title='Students')
<h1>Students <span class="count">{{total}}</span></h1>
<div class="table-wrap">
<table>
  <thead><tr><th scope="col">Name</th><th scope="col" class="num">Grades</th><th scope="col" class="num">Average</th></tr></thead>
  <tbody>
  % for s in students:
    <tr>
      <td><a href="/students/{{s['id']}}">{{s['first_name']}} {{s['last_name']}}</a></td>
      <td class="num">{{len(s['grades'])}}</td>
      <td class="num">{{one_decimal(s['average'])}}</td>
    </tr>
  % end
  % if not students:
    <tr><td colspan="3">No students yet.</td></tr>
  % end
  </tbody>
</table>
</div>
% if pages > 1:
<nav class="pager" aria-label="Pages">
  % if page > 1:
  <a href="/students?page={{page - 1}}" rel="prev">← Previous</a>
  % end
  <span>Page {{page}} of {{pages}}</span>
  % if page < pages:
  <a href="/students?page={{page + 1}}" rel="next">Next →</a>
  % end
</nav>
% end

<h2>Add a student</h2>
<form method="post" action="/students" class="card" novalidate>
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="request_id" value="{{request_id}}">
  % for field, label in (('first_name', 'First name'), ('last_name', 'Last name')):
  <label for="{{field}}">{{label}}</label>
  <input id="{{field}}" name="{{field}}" value="{{values.get(field, '')}}" maxlength="100" required
         {{!'aria-invalid="true"' if field in errors else ''}}>
  % if field in errors:
  <p class="error" role="alert">{{label}} {{errors[field]}}</p>
  % end
  % end
  % if 'form' in errors:
  <p class="error" role="alert">{{errors['form']}}</p>
  % end
  <button type="submit">Add student</button>
</form>
