SELECT id FROM dirty_marks
