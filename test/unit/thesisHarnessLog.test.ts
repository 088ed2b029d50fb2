import { describe, expect, it } from 'vitest';
import { exceptionsIn } from '../../bench/thesisHarness.js';

// What Flask's development server and Python's threading module write to stderr.
const log = [
  '127.0.0.1 - - [01/Dec/2026 05:40:00] "POST /predict HTTP/1.1" 200 -',
  '[2026-12-01 05:40:01,000] ERROR in app: Exception on /predict [POST]',
  'Traceback (most recent call last):',
  '  File "/venv/lib/python3.10/site-packages/flask/app.py", line 1473, in wsgi_app',
  '    response = self.full_dispatch_request()',
  "ValueError: could not convert string to float: 'x'",
  '127.0.0.1 - - [01/Dec/2026 05:40:01] "POST /predict HTTP/1.1" 500 -',
  'Exception in thread Thread-9 (analyse_frame):',
  'Traceback (most recent call last):',
  '  File "bench/thesis_predict_server.py", line 150, in write_record',
  '',
  'sqlite3.OperationalError: database is locked',
  'Exception in thread Thread-12 (analyse_frame):',
  'Traceback (most recent call last):',
  '  File "bench/thesis_predict_server.py", line 150, in write_record',
  // Another thread's request line lands inside the traceback.
  '127.0.0.1 - - [01/Dec/2026 05:56:11] "POST /predict HTTP/1.1" 200 -',
  'sqlite3.OperationalError: database is locked',
].join('\n');

describe('exceptionsIn (the thesis harness log)', () => {
  it('counts each traceback by its last line, in requests and in analysis threads, past request lines of other threads', () => {
    expect(exceptionsIn(log)).toEqual({
      "ValueError: could not convert string to float: 'x'": 1,
      'sqlite3.OperationalError: database is locked': 2,
    });
  });

  it('finds nothing in a log of request lines only', () => {
    expect(exceptionsIn('127.0.0.1 - - [01/Dec/2026 05:40:00] "POST /predict HTTP/1.1" 200 -\n')).toEqual({});
  });
});
