%# A grade's title, type and score, with each field's error: the add form (prefix '') and each edit form.
<label for="{{prefix}}title">Title</label>
<input id="{{prefix}}title" name="title" value="{{values.get('title', '')}}" maxlength="200" required
       {{!'aria-invalid="true"' if 'title' in errors else ''}}>
% if 'title' in errors:
<p class="error" role="alert">Title {{errors['title']}}</p>
% end
<label for="{{prefix}}type">Type</label>
<select id="{{prefix}}type" name="type">
% for t in types:
  <option{{!' selected' if values.get('type') == t else ''}}>{{t}}</option>
% end
</select>
% if 'type' in errors:
<p class="error" role="alert">Type {{errors['type']}}</p>
% end
<label for="{{prefix}}score">Score (0–100)</label>
%# Text, not type=number: the form shows again exactly what was typed, also when it is not a number.
<input id="{{prefix}}score" name="score" inputmode="decimal" autocomplete="off"
       value="{{values.get('score', '')}}" required {{!'aria-invalid="true"' if 'score' in errors else ''}}>
% if 'score' in errors:
<p class="error" role="alert">Score {{errors['score']}}</p>
% end
% for field in errors:
%   if field not in ('title', 'type', 'score'):
<p class="error" role="alert">{{errors[field]}}</p>
%   end
% end
