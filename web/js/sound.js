// A short notification beep with Web Audio, off until the user turns it on. Browsers only let a
// page start audio after a user gesture, so enable() must run from one (the toggle's click).

const MIN_GAP_MS = 1000; // a burst of orders beeps once

export class Beeper {
  #context = null;
  #lastAt = 0;

  get enabled() {
    return this.#context !== null;
  }

  enable() {
    const Context = window.AudioContext ?? window.webkitAudioContext;
    if (!Context) return false;
    this.#context ??= new Context();
    this.#context.resume();
    return true;
  }

  disable() {
    this.#context?.close();
    this.#context = null;
  }

  beep() {
    const ctx = this.#context;
    const now = performance.now();
    if (!ctx || now - this.#lastAt < MIN_GAP_MS) return;
    this.#lastAt = now;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.18);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.2);
  }
}
