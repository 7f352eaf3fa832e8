import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { App } from './app';
import { parseRoute } from './route';
import { storedToken } from './token';
import { primeFirstView } from './use-view';

// The page's HTML shell paints at once; the app replaces it when this module has loaded.
const token = storedToken();
if (token && parseRoute(location.hash).view === 'environments') primeFirstView('environments', token);
const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
