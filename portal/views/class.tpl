% rebase('layout.tpl', title='Roster of ' + klass['name'])
%# The first and last name fields of one form (``prefix``: that form's ids), each with its error.
%# ``focus``: True, the first field with an error takes the focus; a field's name: that field when none has one.
% def name_inputs(prefix, values, errors, focus):
%   first = next((f for f, _ in name_fields if f in errors), None) if focus else None
%   first = first or (focus if isinstance(focus, str) else None)
%   for field, label in name_fields:
%     invalid = field in errors
  <label for="{{prefix}}{{field}}">{{label}} <span class="hint">(at most {{max_name}} characters)</span></label>
  <input id="{{prefix}}{{field}}" name="{{field}}" value="{{values.get(field, '')}}" required autocomplete="off"
         {{!'aria-invalid="true" aria-describedby="%s%s-error"' % (prefix, field) if invalid else ''}}{{!' autofocus' if first == field else ''}}>
%     if invalid:
  <p class="error" id="{{prefix}}{{field}}-error">{{label}} {{errors[field]}}</p>
%     end
%   end
% end
%# One roster row: the student, their number of scores, and what can be done to them here. The weighted
%# average is the grid's: the roster's would be another number (an unweighted mean) for the same student.
% def student_row(s, is_archived):
  <tbody id="student-{{s['id']}}">
    <tr>
      <td><a href="/students/{{s['id']}}">{{s['last_name']}}, {{s['first_name']}}</a></td>
      <td class="num">{{count(s['grade_count'])}}</td>
    </tr>
    <tr class="row-actions"><td colspan="2">
    % if renaming == s['id']:
      <form method="post" action="/classes/{{klass['id']}}/students/{{s['id']}}/name" class="card edit" novalidate>
        <input type="hidden" name="csrf_token" value="{{csrf}}">
        % name_inputs('s%d-' % s['id'], rename_values, rename_errors, 'first_name')
        <div class="buttons"><button type="submit">Save the name</button>
          <a href="/classes/{{klass['id']}}/roster#student-{{s['id']}}">Cancel</a></div>
      </form>
    % else:
      <div class="actions">
        <a href="/classes/{{klass['id']}}/roster?rename={{s['id']}}">Rename<span class="visually-hidden"> {{s['first_name']}} {{s['last_name']}}</span></a>
        <form method="post" action="/classes/{{klass['id']}}/students/{{s['id']}}/archive" class="inline-form">
          <input type="hidden" name="csrf_token" value="{{csrf}}">
          <input type="hidden" name="archived" value="{{'0' if is_archived else '1'}}">
          <button type="submit" class="link-button">{{'Restore' if is_archived else 'Archive'}}<span class="visually-hidden"> {{s['first_name']}} {{s['last_name']}}</span></button>
        </form>
        <a class="button-link" href="/classes/{{klass['id']}}/students/{{s['id']}}/unenroll">Remove from the class<span class="visually-hidden">: {{s['first_name']}} {{s['last_name']}}</span></a>
      </div>
    % end
    </td></tr>
  </tbody>
% end
<p class="back"><a href="/classes/{{klass['id']}}">← {{klass['name']}}: scores</a></p>
<h1>{{klass['name']}}: roster</h1>
<p class="summary">{{'Teacher: ' + teacher if teacher else 'No teacher: administrators only'}}
  · {{count(len(active))}} student{{'' if len(active) == 1 else 's'}}{{(' · %s archived' % count(len(archived))) if archived else ''}}</p>

<h2 id="roster">Students</h2>
<div class="table-wrap" tabindex="0" role="region" aria-label="Students of the class">
<table id="roster-table" class="roster">
  <thead><tr><th scope="col">Name (last, first)</th><th scope="col" class="num">Scores</th></tr></thead>
  % for s in active:
  %   student_row(s, False)
  % end
  % if not active:
  <tbody><tr><td colspan="2" class="empty">No students in this class yet.</td></tr></tbody>
  % end
</table>
</div>

% if archived:
<h2 id="archived">Archived students</h2>
<p class="summary">No longer on the active roster; their enrolment and grades are kept.</p>
<div class="table-wrap" tabindex="0" role="region" aria-label="Archived students of the class">
<table id="archived-table" class="roster">
  <thead><tr><th scope="col">Name (last, first)</th><th scope="col" class="num">Scores</th></tr></thead>
  % for s in archived:
  %   student_row(s, True)
  % end
</table>
</div>
% end

<h2 id="add-student">Add a new student to the class</h2>
<form method="post" action="/classes/{{klass['id']}}/students" class="card" novalidate aria-labelledby="add-student">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <input type="hidden" name="request_id" value="{{request_id}}">
  % if add_errors.get('form'):
  <p class="error" role="alert">{{add_errors['form']}}</p>
  % end
  % if same_name:
  %# A question, not an error in a field: the names typed go along unchanged, the answer is a button (or Cancel).
  <div class="problem" role="alert" id="same-name">
    <p class="error">This class already has a student named {{same_name[0]['first_name']}} {{same_name[0]['last_name']}}:</p>
    <ul>
    % for s in same_name:
      <li><a href="/students/{{s['id']}}">{{s['first_name']}} {{s['last_name']}} (id {{s['id']}})</a></li>
    % end
    </ul>
    <p>Nothing was added. Add another student of the same name anyway?</p>
    <input type="hidden" name="confirm" value="yes">
    % for field, _ in name_fields:
    <input type="hidden" name="{{field}}" value="{{add_values.get(field, '')}}">
    % end
    <div class="buttons"><button type="submit" id="add-again" autofocus>Add another {{add_values.get('first_name', '').strip()}} {{add_values.get('last_name', '').strip()}}</button>
      <a href="/classes/{{klass['id']}}/roster#add-student">Cancel</a></div>
  </div>
  % else:
  % name_inputs('', add_values, add_errors, True)
  <button type="submit">Add student</button>
  % end
</form>

% if user.is_admin:
<h2 id="enrol">Enrol an existing student</h2>
<form method="post" action="/classes/{{klass['id']}}/enrolments" class="card" novalidate aria-labelledby="enrol">
  <input type="hidden" name="csrf_token" value="{{csrf}}">
  <label for="student_id">Student's number <span class="hint">(the number that ends their page's address, as 12 in /students/12)</span></label>
  <input id="student_id" name="student_id" value="{{enrol_value}}" inputmode="numeric" autocomplete="off" required
         {{!'aria-invalid="true" aria-describedby="student_id-error" autofocus' if enrol_error else ''}}>
  % if enrol_error:
  <p class="error" id="student_id-error">Student's number {{enrol_error}}</p>
  % end
  <button type="submit">Enrol</button>
</form>
% end

<h2 id="changes">Recent changes</h2>
% if changes:
<p class="summary">{{'Every change' if all_changes else 'The %d newest changes' % len(changes)}} in this class, newest first.</p>
% end
% include('changes.tpl', entries=changes, caption='Recent changes in this class', show_what=True)
