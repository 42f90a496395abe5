/**
 * A sign-in page for operators' browsers, which cannot send a Bearer header on navigation: the
 * admin key typed here goes once to `POST /admin/session` and is never stored by the page; the
 * session lives in an HttpOnly cookie the script cannot read.
 */
export const LOGIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Image pipeline · admin sign-in</title>
<style>
  body { font: 16px system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; }
  input, button { font: inherit; padding: .5rem; width: 100%; box-sizing: border-box; margin-top: .5rem; }
  #error { color: #b00020; min-height: 1.5em; }
</style>
</head>
<body>
<h1>Admin sign-in</h1>
<form id="signin">
  <label for="key">Admin API key</label>
  <input id="key" type="password" autocomplete="off" required>
  <button type="submit">Open the queue view</button>
  <p id="error" role="alert"></p>
</form>
<script>
document.getElementById('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = document.getElementById('key');
  const res = await fetch('/admin/session', { method: 'POST', headers: { authorization: 'Bearer ' + key.value } });
  key.value = '';
  if (res.ok) { location.assign('/admin/queues'); return; }
  const body = await res.json().catch(() => null);
  document.getElementById('error').textContent = body && body.error ? body.error.message : 'Sign-in failed (' + res.status + ').';
});
</script>
</body>
</html>
`;
