import { describe, expect, it } from 'vitest';
import { advertisedWsUrl } from '../../src/simulator/advertised-url.js';

describe('the WebSocket URL the simulator advertises', () => {
  it('is its own address when bound to one', () => {
    expect(advertisedWsUrl('127.0.0.1', 'ws://127.0.0.1:8080/websocket', 'simulator:8080')).toBe(
      'ws://127.0.0.1:8080/websocket',
    );
  });

  it('bound to every interface, is the address the client reached (a compose service name, IPv6)', () => {
    expect(advertisedWsUrl('0.0.0.0', 'ws://0.0.0.0:8080/websocket', 'simulator:8080')).toBe(
      'ws://simulator:8080/websocket',
    );
    expect(advertisedWsUrl('::', 'ws://[::]:8080/websocket', '[::1]:8080')).toBe('ws://[::1]:8080/websocket');
  });

  it('keeps the bound URL when the Host header is missing or not a host:port', () => {
    for (const host of [undefined, 'simulator', 'evil.example/x:80', 'a b:80', 'user@host:80']) {
      expect(advertisedWsUrl('0.0.0.0', 'ws://0.0.0.0:8080/websocket', host)).toBe(
        'ws://0.0.0.0:8080/websocket',
      );
    }
  });
});
