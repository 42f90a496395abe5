import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { chooseFormat, imgixDefaultWidths, parseColor, parseImgixParams } from './imgix-params.js';
import { imgixSignature, isSignedUrl } from './imgix-signature.js';

const limits = { widths: imgixDefaultWidths(), maxOutputPixels: 4_000_000 };
const parse = (query: string) => parseImgixParams(new URLSearchParams(query), limits);
const refusal = (query: string) => {
  try {
    parse(query);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(400);
    return (err as AppError).details?.param;
  }
  throw new Error(`${query} was accepted`);
};

describe('imgix parameters', () => {
  it('rounds widths up to the ladder and scales h with them, after dpr', () => {
    expect(imgixDefaultWidths().slice(0, 4)).toEqual([100, 116, 135, 156]);
    expect(parse('w=101')).toMatchObject({ w: 116, fit: 'clip' });
    expect(parse('w=100&h=50&dpr=2')).toMatchObject({ w: 210, h: 105 });
    expect(parse('w=116&h=116')).toMatchObject({ w: 116, h: 116 });
    expect(parse('h=99')).toMatchObject({ h: 100 });
    expect(parse('w=100&pad=10&dpr=2')).toMatchObject({ pad: 20 });
  });

  it('reads fit, crop, formats, auto, colours and rect', () => {
    expect(parse('fit=crop&crop=focalpoint&fp-x=0.2&fp-y=1')).toMatchObject({ fit: 'crop', crop: { kind: 'focalpoint', x: 0.2, y: 1 } });
    expect(parse('fit=crop&crop=entropy').crop).toEqual({ kind: 'entropy' });
    expect(parse('fit=crop&crop=left,top').crop).toEqual({ kind: 'gravity', gravity: 'top left' });
    expect(parse('auto=format,compress&fm=webp&q=60')).toMatchObject({ autoFormat: true, autoCompress: true, fm: 'webp', q: 60 });
    expect(parse('fit=fill&fill=solid&fill-color=fff')).toMatchObject({ fit: 'fill', fillColor: '#ffffffff' });
    expect(parse('rect=10,20,300,200&trim=auto')).toMatchObject({ rect: [10, 20, 300, 200], trim: true });
    expect(parseColor('bg', 'f00')).toBe('#ff0000ff');
    expect(parseColor('bg', '80ff0000')).toBe('#ff000080');
    // js-core's library tag and the signature are not transform parameters.
    expect(parse('w=100&ixlib=js-3.8.0&s=abc')).toMatchObject({ w: 100 });
  });

  it('refuses unknown, repeated and out-of-range parameters with 400 naming them', () => {
    expect(refusal('blur=20')).toBe('blur');
    expect(refusal('w=100&w=200')).toBe('w');
    expect(refusal('w=0')).toBe('w');
    expect(refusal('w=12.5')).toBe('w');
    expect(refusal('w=9000')).toBe('w');
    expect(refusal('w=2000&h=2100')).toBe('w');
    expect(refusal('dpr=6')).toBe('dpr');
    expect(refusal('q=101')).toBe('q');
    expect(refusal('fm=gif')).toBe('fm');
    expect(refusal('fit=fillmax')).toBe('fit');
    expect(refusal('crop=faces')).toBe('crop');
    expect(refusal('crop=edges')).toBe('crop');
    expect(refusal('fp-x=0.5')).toBe('fp-x');
    expect(refusal('crop=focalpoint&fp-x=2')).toBe('fp-x');
    expect(refusal('auto=enhance')).toBe('auto');
    expect(refusal('bg=red')).toBe('bg');
    expect(refusal('rect=1,2,3')).toBe('rect');
    expect(refusal('trim=color')).toBe('trim');
    expect(refusal('fit=fill&fill=blur')).toBe('fill');
    expect(refusal('w=')).toBe('w');
  });

  it('negotiates auto=format from Accept, fm first', () => {
    const avif = 'image/avif,image/webp,image/apng,*/*;q=0.8';
    expect(chooseFormat({ autoFormat: true }, avif, true)).toEqual({ format: 'avif', varyAccept: true });
    expect(chooseFormat({ autoFormat: true }, 'image/webp,*/*', true).format).toBe('webp');
    expect(chooseFormat({ autoFormat: true }, 'image/avif;q=0,image/webp', true).format).toBe('webp');
    expect(chooseFormat({ autoFormat: true }, '*/*', false).format).toBe('jpg');
    expect(chooseFormat({ autoFormat: true, fm: 'png' }, avif, false)).toEqual({ format: 'png', varyAccept: false });
    expect(chooseFormat({ autoFormat: false }, avif, true)).toEqual({ format: 'png', varyAccept: false });
  });
});

describe('imgix signatures', () => {
  it('checks md5(token + path + query without s), as imgix documents it', () => {
    const s = imgixSignature('token', '/img/t/a/cutout', 'w=100&fm=webp');
    expect(isSignedUrl('token', `/img/t/a/cutout?w=100&fm=webp&s=${s}`)).toBe(true);
    expect(isSignedUrl('token', `/img/t/a/cutout?fm=webp&w=100&s=${s}`)).toBe(false);
    expect(isSignedUrl('other', `/img/t/a/cutout?w=100&fm=webp&s=${s}`)).toBe(false);
    expect(isSignedUrl('token', '/img/t/a/cutout?w=100&fm=webp')).toBe(false);
    expect(isSignedUrl('token', `/img/t/a/cutout?s=${imgixSignature('token', '/img/t/a/cutout', '')}`)).toBe(true);
  });
});
