import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { App } from './app';

// The page's HTML shell paints at once; the app replaces it when this module has loaded.
const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
