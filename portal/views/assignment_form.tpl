% base = '/classes/%d' % klass['id']
% heading = 'Edit ' + assignment['title'] if assignment else 'Add an assignment'
% rebase('layout.tpl', title=heading + ' · ' + klass['name'])
% action = '%s/assignments/%d/edit' % (base, assignment['id']) if assignment else base + '/assignments/new'
% first = next((f for f in ('title', 'category', 'max_points', 'due') if f in problems), None)
% first = first or ('title' if not assignment and not problems else None)
% def attributes(name):
%   return ('aria-invalid="true" aria-describedby="%s-error" ' % name if name in problems else '') + ('autofocus' if first == name else '')
% end
% def problem(name, label):
%   if name in problems:
<p class="error" id="{{name}}-error">{{label}} {{problems[name]}}</p>
%   end
% end
<p class="back"><a href="{{base}}">← {{klass['name']}}</a></p>
<h1>{{heading}}</h1>
% if conflict:
<div class="problem" role="alert" id="conflict">
  <p class="error">This assignment was changed after you opened the form. Nothing was saved.</p>
  <table class="compare">
    <caption class="visually-hidden">The assignment as stored now, and as you typed it</caption>
    <thead><tr><th scope="col">Field</th><th scope="col">Stored now</th><th scope="col">You typed</th></tr></thead>
    <tbody>
      <tr><th scope="row">Title</th><td>{{conflict['title']}}</td><td>{{values.get('title', '')}}</td></tr>
      <tr><th scope="row">Category</th><td>{{conflict['category']}}</td><td>{{values.get('category', '')}}</td></tr>
      <tr><th scope="row">Most points</th><td>{{conflict['max_points']}}</td><td>{{values.get('max_points', '')}}</td></tr>
      <tr><th scope="row">Due</th><td>{{conflict['due'] or 'no date'}}</td><td>{{values.get('due') or 'no date'}}</td></tr>
    </tbody>
  </table>
  <p>Save stores your values over the ones stored now; Cancel keeps the stored ones.</p>
</div>
% end
% for name in problems:
%   if name not in ('title', 'category', 'max_points', 'due'):
<p class="error" role="alert" id="form-error">{{problems[name]}}</p>
%   end
% end
<form method="post" action="{{action}}" class="card" novalidate>
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  % if assignment:
  %# What the form was opened with: grading saves nothing if the assignment changed since.
  % for name in ('title', 'category', 'max_points', 'due'):
  <input type="hidden" name="expected_{{name}}" value="{{expected.get(name, '')}}">
  % end
  % end
  <label for="title">Title <span class="hint">(at most {{max_title}} characters; not used by another assignment of the class)</span></label>
  <input id="title" name="title" value="{{values.get('title', '')}}" maxlength="{{max_title}}" required autocomplete="off" {{!attributes('title')}}>
  % problem('title', 'Title')
  <label for="category">Category <span class="hint">(<a href="{{base}}/settings">categories and their weights</a>)</span></label>
  <select id="category" name="category" {{!attributes('category')}}>
  % for name in categories:
    <option{{!' selected' if values.get('category', '').casefold() == name.casefold() else ''}}>{{name}}</option>
  % end
  </select>
  % problem('category', 'Category')
  <label for="max_points">Most points <span class="hint">(such as 10, 20 or 100)</span></label>
  <input id="max_points" name="max_points" value="{{values.get('max_points', '')}}" inputmode="decimal" required autocomplete="off" {{!attributes('max_points')}}>
  % problem('max_points', 'Most points')
  <label for="due">Due date <span class="hint">(optional)</span></label>
  <input id="due" name="due" type="date" value="{{due_value}}" {{!attributes('due')}}>
  % problem('due', 'Due date')
  <div class="buttons"><button type="submit">{{'Save the assignment' if assignment else 'Add the assignment'}}</button>
    <a href="{{base}}">Cancel</a></div>
</form>
