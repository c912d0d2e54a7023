FETCH 1000 FROM held_cursor
