% base = '/classes/%d' % klass['id']
% rebase('layout.tpl', title='Categories and letters · ' + klass['name'])
%# One input of a row, with its label for screen readers and its problem.
% def cell(problems, name, i, value, label, extra=''):
%   key = '%s-%d' % (name, i)
%   invalid = key in problems
  <td><label class="visually-hidden" for="{{key}}">{{label}}</label>
    <input id="{{key}}" name="{{key}}" value="{{value}}" autocomplete="off" {{!extra}}{{!' aria-invalid="true" aria-describedby="%s-error"' % key if invalid else ''}}>
    % if invalid:
    <p class="error" id="{{key}}-error">{{problems[key]}}</p>
    % end
  </td>
% end
% def form_problem(problems, id):
%   if problems.get('form'):
  <div class="problem" role="alert" id="{{id}}"><p class="error">{{problems['form']}} Nothing was saved.</p></div>
%   elif problems:
  <div class="problem" role="alert" id="{{id}}"><p class="error">Nothing was saved: a row below needs a change.</p></div>
%   end
% end
<p class="back"><a href="{{base}}">← {{klass['name']}}</a></p>
<h1>Categories and letters</h1>

<h2 id="categories">Categories and their weights</h2>
<p class="summary">A student's average weighs each category's points earned over points possible by its weight,
  a percentage; the weights add up to 100. Categories without a counted score are left out and the others' weights
  scaled up. Rename a category in its row (its assignments follow); empty a row to remove a category no assignment uses.</p>
<form method="post" action="{{base}}/settings" class="settings-form" id="categories-form" novalidate aria-labelledby="categories">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="part" value="categories">
  <input type="hidden" name="opened" value="{{opened_categories}}">
  % form_problem(category_problems, 'categories-problem')
  <div class="table-wrap settings-wrap">
  <table id="categories-table" class="settings">
    <caption class="visually-hidden">Categories and their weights</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Weight (%)</th><th scope="col">Assignments</th></tr></thead>
    <tbody>
    % for i, row in enumerate(category_rows):
      <tr>
        % cell(category_problems, 'name', i, row['name'], 'Name of category %d' % (i + 1), 'maxlength="40"')
        % cell(category_problems, 'weight', i, row['weight'], 'Weight of category %d, in percent' % (i + 1), 'inputmode="decimal" size="6"')
        <td class="num">{{count(used.get(row['was'].casefold(), 0)) if row['was'] else ''}}
          <input type="hidden" name="was-{{i}}" value="{{row['was']}}"></td>
      </tr>
    % end
    </tbody>
  </table>
  </div>
  <div class="buttons"><button type="submit">Save the categories</button></div>
</form>

<h2 id="scale">Letters</h2>
<p class="summary">A student's letter is the first whose minimum their average reaches, from the highest down;
  one letter has the minimum 0.</p>
<form method="post" action="{{base}}/settings#scale" class="settings-form" id="scale-form" novalidate aria-labelledby="scale">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="part" value="scale">
  <input type="hidden" name="opened" value="{{opened_scale}}">
  % form_problem(scale_problems, 'scale-problem')
  <div class="table-wrap settings-wrap">
  <table id="scale-table" class="settings">
    <caption class="visually-hidden">Letters and the lowest average of each</caption>
    <thead><tr><th scope="col">Letter</th><th scope="col">Lowest average (%)</th></tr></thead>
    <tbody>
    % for i, row in enumerate(scale_rows):
      <tr>
        % cell(scale_problems, 'letter', i, row['letter'], 'Letter %d' % (i + 1), 'maxlength="5" size="5"')
        % cell(scale_problems, 'min', i, row['min'], 'Lowest average for letter %d, in percent' % (i + 1), 'inputmode="decimal" size="6"')
      </tr>
    % end
    </tbody>
  </table>
  </div>
  <div class="buttons"><button type="submit">Save the letters</button></div>
</form>
