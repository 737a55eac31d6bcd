/**
 * Decoding must give exactly cv2.imread(path)'s pixels (OpenCV 4.6, IMREAD_COLOR).
 *
 * 1. Every case of the shared golden pixels/ folder (real demo and COCO photographs).
 * 2. Small generated images in test/fixtures/images, one per decoder path: JPEG sampling modes,
 *    progressive, grey, CMYK (Adobe), EXIF orientations, truncated; PNG 1/2/8/16-bit grey, colour,
 *    alpha, palette, tRNS, eXIf; BMP 1/4/8/16/24/32-bit, RLE4/8, OS/2 and V5 headers, top-down;
 *    TIFF 8/16-bit, alpha, CMYK, orientations; WebP lossy, lossless, alpha; files OpenCV rejects.
 *    They were made by test/fixtures/images/make_images.py (python3 with numpy, cv2 4.6 and
 *    Pillow), and the sha256 below are of the BGR buffers cv2.imread returned for them
 *    (null: imread returned None, so we must throw ImageDecodeError).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { decodeImage, imread, ImageDecodeError, sniffFormat } from '../lib/utils/image_io';
import { applyOrientation } from '../lib/utils/image_metadata';

const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');
const GOLDEN_PIXELS = path.join(FIXTURES, 'golden/pixels');
const IMAGES = path.resolve(__dirname, 'fixtures/images');

function sha256(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

interface GoldenCase {
  image: string;
  decoded: { shape: number[]; sha256: string };
}

/** [file, 'HxWx3', sha256 of cv2.imread's BGR bytes] or [file, null] when imread gives None. */
const EXPECTED: ReadonlyArray<readonly [string, string, string] | readonly [string, null]> = [
  ['jpeg_420.jpg', '19x29x3', '56bf690a06fcc1fbc3c66dfe76f38fe3307d28893f285e5b889ae8e02ff427b7'],
  ['jpeg_422.jpg', '19x29x3', '61895ef3d5ac2e4084bcce2f54c34cc7bb50ceccf82f2759b1a5b5a50567ca31'],
  ['jpeg_444.jpg', '19x29x3', '6316c3b0e3a4599b2b2270a00988cfa1ad572b1c0f03346deef62593bb6bad59'],
  ['jpeg_cmyk.jpg', '19x29x3', 'e19b6c1b01c9fac624b3b3860eb18caa37212ec3253cd966caa80d3feabcb47e'],
  ['jpeg_cmyk_k.jpg', '19x29x3', '1c5deee432b3cb9e8bed51af716dad140ae2576803b00701042ed082b9f0396c'],
  ['jpeg_progressive.jpg', '19x29x3', '56bf690a06fcc1fbc3c66dfe76f38fe3307d28893f285e5b889ae8e02ff427b7'],
  ['jpeg_gray.jpg', '19x29x3', 'b08dbc5273db7b134694e200e1a2884970edcfa6696c35d705333b1d19e16ca4'],
  ['jpeg_exif_orient1.jpg', '19x29x3', 'fe29d5d9dc8d662d0c7d16054bf7a5a50cc81ff49b025a29c20fa00de14fd94d'],
  ['jpeg_exif_orient2.jpg', '19x29x3', 'a349ebf942af21f1dfdfe5d9537e2a2e3b8ccdc44a52a6bbb64e2cb82dd9971b'],
  ['jpeg_exif_orient3.jpg', '19x29x3', '4ecff0b28d6dbab89cdb003793e6a7d3b4c010de2a1fd9d9ac38c78ccd26cff0'],
  ['jpeg_exif_orient4.jpg', '19x29x3', '9291f00db94fa0ca8db59d4bc91d9c92687e5c74d05309abe02c4178071fb4ea'],
  ['jpeg_exif_orient5.jpg', '29x19x3', '2600365791ff4a9e58d64d0a35f270b64aa5b422b2286547d4a2ee6163351e15'],
  ['jpeg_exif_orient6.jpg', '29x19x3', '62e7be12208a52a09211ddb66576fdec660f128d545ae0b0c60af9dad9e7a8f3'],
  ['jpeg_exif_orient7.jpg', '29x19x3', 'f694d0be75ec607fff8bdf169823c690bd6858823591d3cd85f77cd4c6d22fcb'],
  ['jpeg_exif_orient8.jpg', '29x19x3', '34287fa75efaff7428bc46ae91e45983aebfbb2fd5aff51ebfbb9b5170382fc9'],
  ['jpeg_exif_orient6_be.jpg', '29x19x3', '62e7be12208a52a09211ddb66576fdec660f128d545ae0b0c60af9dad9e7a8f3'],
  ['png_rgb8.png', '19x29x3', '05d65c39ebf682a2b645575db8e291453ddef9c0e46decbbdd10f0d3e3dd0bb7'],
  ['png_gray8.png', '19x29x3', '182b3c27f9139385a3180515f249a1e60589e63bee5bce4824276aa6eef763da'],
  ['png_rgba8.png', '19x29x3', '05d65c39ebf682a2b645575db8e291453ddef9c0e46decbbdd10f0d3e3dd0bb7'],
  ['png_rgb16.png', '19x29x3', '9876e5b7fcbd49e8956cd2f180ab71418b25d59ff8cc7c738f3c86d588530d13'],
  ['png_gray16.png', '19x29x3', 'aed00fbbcda2984d5b207ec8fa10b0a8efe2029db64c61755bb69a9a3716f39b'],
  ['png_gray_alpha8.png', '19x29x3', '182b3c27f9139385a3180515f249a1e60589e63bee5bce4824276aa6eef763da'],
  ['png_palette8.png', '19x29x3', '0f1863d6127a01dc249af60fcef9ed1702dbf6c1fec508bb8e311af2181744b3'],
  ['png_palette4_trns.png', '19x29x3', '0f1863d6127a01dc249af60fcef9ed1702dbf6c1fec508bb8e311af2181744b3'],
  ['png_gray1.png', '19x29x3', '8e3df969b42fa92c2e78053eb0962681ead588b76b40201c82a62e81353a50f9'],
  ['bmp_24.bmp', '19x29x3', '05d65c39ebf682a2b645575db8e291453ddef9c0e46decbbdd10f0d3e3dd0bb7'],
  ['bmp_gray8.bmp', '19x29x3', '182b3c27f9139385a3180515f249a1e60589e63bee5bce4824276aa6eef763da'],
  ['bmp_32.bmp', '19x29x3', '05d65c39ebf682a2b645575db8e291453ddef9c0e46decbbdd10f0d3e3dd0bb7'],
  ['bmp_24_topdown.bmp', '19x29x3', '05d65c39ebf682a2b645575db8e291453ddef9c0e46decbbdd10f0d3e3dd0bb7'],
  ['bmp_pal8.bmp', '19x29x3', '0f1863d6127a01dc249af60fcef9ed1702dbf6c1fec508bb8e311af2181744b3'],
  ['bmp_pal4.bmp', '19x29x3', '0f1863d6127a01dc249af60fcef9ed1702dbf6c1fec508bb8e311af2181744b3'],
  ['bmp_pal1.bmp', '19x29x3', '4d3afddce8792bbb6a44e9d4ed81d660c34152b6f7518cc6ec98f3f7dbc22724'],
  ['bmp_rle8.bmp', '19x29x3', '0f1863d6127a01dc249af60fcef9ed1702dbf6c1fec508bb8e311af2181744b3'],
  ['bmp_16_555.bmp', '19x29x3', '9a47c3a9d943ec17e498359c4ffa344abdc6de940d557ceb361be69c407fde6c'],
  ['bmp_16_565.bmp', '19x29x3', '96e5f38df2b6fb6eade0c8df4376454ff9a7605936b5908d93fb4f0b6d3aad2d'],
  ['bmp_24_v5header.bmp', '19x29x3', '05d65c39ebf682a2b645575db8e291453ddef9c0e46decbbdd10f0d3e3dd0bb7'],
  ['png_exif_orient6.png', '29x19x3', 'e1f9e95e7cb5d5313cf480f98f11e416b59d6eba2b5caa7fc274c03f892860a7'],
  ['bmp_rle4.bmp', '19x29x3', 'a9e5e82bb068653837038515fc0bc6f9a342811038f50bb0bda883e13e2fe459'],
  ['bmp_os2_pal8.bmp', '19x29x3', '0f1863d6127a01dc249af60fcef9ed1702dbf6c1fec508bb8e311af2181744b3'],
  ['png_rgba16.png', '19x29x3', '9876e5b7fcbd49e8956cd2f180ab71418b25d59ff8cc7c738f3c86d588530d13'],
  ['png_gray_alpha16.png', '19x29x3', '389b35160c80d5b1dc2bd3431c6e72e26d7fbbe12e67e9b5869bad14bb714956'],
  ['png_rgb8_trns.png', '19x29x3', '05d65c39ebf682a2b645575db8e291453ddef9c0e46decbbdd10f0d3e3dd0bb7'],
  ['png_gray2.png', '19x29x3', 'eb251d68e53612021999d2624ea7aa48f384f822e2c9907a328fa36512760258'],
  ['jpeg_truncated.jpg', '19x29x3', '876fbcd76917db92b6baadb2158e7005300bee2448bf0a06c19a38f0558bf3d5'],
  ['tiff_rgb8.tif', '19x29x3', '05d65c39ebf682a2b645575db8e291453ddef9c0e46decbbdd10f0d3e3dd0bb7'],
  ['tiff_gray8.tif', '19x29x3', '182b3c27f9139385a3180515f249a1e60589e63bee5bce4824276aa6eef763da'],
  ['tiff_rgba8.tif', '19x29x3', '05d65c39ebf682a2b645575db8e291453ddef9c0e46decbbdd10f0d3e3dd0bb7'],
  ['tiff_rgb16.tif', '19x29x3', '61b8d5dd021fb9cc4d3715665da569304c3abf086e4ad6b261bc5f9d7379522f'],
  ['tiff_gray16.tif', '19x29x3', 'a096ec89e8b51550405c3f08b70cc40f13279f46cafd8b6d580e52ca6d11c739'],
  ['tiff_cmyk.tif', '19x29x3', 'cc89ed798678f04b7ce059af1bd781d500ba605a0d178768be2285085c784c7d'],
  ['tiff_orient2.tif', '19x29x3', '0a659faef0e3d85617d52c723ff45b7eefa0110afa87a3a8fd14738383c6253d'],
  ['tiff_orient3.tif', '19x29x3', '60655db81ce5650cbf41519657a06bdcd352773dfb3034fb4478c17a328f8e43'],
  ['tiff_orient4.tif', '19x29x3', 'cdd2c63240ee3ee73b8ad25c55c2946fc0af02c83c996cf2498b0f2c9bbc214b'],
  ['tiff_orient5.tif', '29x19x3', 'f0139dd239925f453cd27385de25552deee976eb1145555bdb30f6c30e9dffb9'],
  ['tiff_orient6.tif', '29x19x3', 'e1f9e95e7cb5d5313cf480f98f11e416b59d6eba2b5caa7fc274c03f892860a7'],
  ['tiff_orient7.tif', '29x19x3', '2286a1e6f108331c85e6c7a527dc7f54bfb62d80319a1cec1f8fb453ea95d38c'],
  ['tiff_orient8.tif', '29x19x3', '662c208e0e1efea71612d23fb83ce5ae945d3ab8882f22ca23a6965c4342b2c0'],
  ['webp_lossless.webp', '19x29x3', '05d65c39ebf682a2b645575db8e291453ddef9c0e46decbbdd10f0d3e3dd0bb7'],
  ['webp_lossy.webp', '19x29x3', '879635153555c2665e527f5651378ca9baef37991a5028734e5828bae58add08'],
  ['webp_rgba_lossless.webp', '19x29x3', 'c752c6a24b2990ac5e6651bc7caae761255b15b003030ce42c126f75bd003c75'],
  ['bad_truncated.png', null],
  ['bad_truncated.bmp', null],
  ['bad_text.jpg', null],
  ['bad_empty.png', null],
  ['bad_header_only.jpg', null],
];

describe('imread equals cv2.imread on the golden pixels cases', () => {
  const files = fs.readdirSync(GOLDEN_PIXELS).filter((f) => f.endsWith('.json')).sort();
  const cases: GoldenCase[] = files.flatMap(
    (f) => (JSON.parse(fs.readFileSync(path.join(GOLDEN_PIXELS, f), 'utf8')) as { cases: GoldenCase[] }).cases,
  );

  it('has cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(14);
  });

  it.each(cases.map((c) => [c.image, c] as const))('%s', async (_name, c) => {
    const im = await imread(path.join(FIXTURES, c.image));
    expect(im.dtype).toBe('uint8');
    expect(im.shape).toEqual(c.decoded.shape);
    expect(sha256(im.data as Uint8Array)).toBe(c.decoded.sha256);
  });
});

describe('decoding the generated images like OpenCV', () => {
  it('covers every file in test/fixtures/images', () => {
    const listed = new Set(EXPECTED.map((e) => e[0]));
    const onDisk = fs.readdirSync(IMAGES).filter((f) => !f.endsWith('.py'));
    expect(onDisk.filter((f) => !listed.has(f))).toEqual([]);
    expect(onDisk.length).toBe(EXPECTED.length);
  });

  const good = EXPECTED.filter((e): e is readonly [string, string, string] => e[1] !== null);
  it.each(good)('%s', async (name, shape, digest) => {
    const im = await imread(path.join(IMAGES, name));
    expect(im.shape.join('x')).toBe(shape);
    expect(sha256(im.data as Uint8Array)).toBe(digest);
  });

  const bad = EXPECTED.filter((e) => e[1] === null).map((e) => e[0]);
  it.each(bad)('%s is an ImageDecodeError naming the file', async (name) => {
    const file = path.join(IMAGES, name);
    const err = await imread(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect((err as ImageDecodeError).file).toBe(file);
    expect((err as ImageDecodeError).message).toContain(file);
    expect((err as ImageDecodeError).reason.length).toBeGreaterThan(5);
  });
});

describe('decode details', () => {
  it('reports a truncated JPEG that it decoded as OpenCV does', async () => {
    const bytes = fs.readFileSync(path.join(IMAGES, 'jpeg_truncated.jpg'));
    const d = await decodeImage(bytes, 'jpeg_truncated.jpg');
    expect(d.format).toBe('jpeg');
    expect(d.warnings).toHaveLength(1);
    expect(d.warnings[0]).toMatch(/premature end/i);
    const whole = await decodeImage(fs.readFileSync(path.join(IMAGES, 'jpeg_420.jpg')), 'jpeg_420.jpg');
    expect(whole.warnings).toEqual([]);
    // Its pixels are OpenCV's (table above), not those of the whole file.
    expect(sha256(d.image.data as Uint8Array)).not.toBe(sha256(whole.image.data as Uint8Array));
  });

  it('sniffs formats by signature, not by name', () => {
    expect(sniffFormat(fs.readFileSync(path.join(IMAGES, 'png_rgb8.png')))).toBe('png');
    expect(sniffFormat(fs.readFileSync(path.join(IMAGES, 'tiff_rgb8.tif')))).toBe('tiff');
    expect(sniffFormat(fs.readFileSync(path.join(IMAGES, 'webp_lossy.webp')))).toBe('webp');
    expect(sniffFormat(fs.readFileSync(path.join(IMAGES, 'bmp_24.bmp')))).toBe('bmp');
    expect(sniffFormat(fs.readFileSync(path.join(IMAGES, 'jpeg_gray.jpg')))).toBe('jpeg');
    expect(sniffFormat(Buffer.from('GIF89a....'))).toBeUndefined();
  });

  it('rejects a GIF, which OpenCV 4.6 cannot read, with a clear reason', async () => {
    const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
    await expect(decodeImage(gif, 'x.gif')).rejects.toThrow(/x\.gif: not an image file \(expected JPEG, PNG, BMP, TIFF or WebP\)/);
  });

  it('names a missing file', async () => {
    await expect(imread('/nonexistent/dir/a.jpg')).rejects.toThrow(/\/nonexistent\/dir\/a\.jpg: cannot read file/);
  });

  it('orients like OpenCV ExifTransform (2x3 single-channel picture)', () => {
    // 1 2 3
    // 4 5 6
    const src = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const o = (k: number): [number, number, number[]] => {
      const r = applyOrientation(src, 2, 3, 1, k);
      return [r.height, r.width, Array.from(r.data)];
    };
    expect(o(1)).toEqual([2, 3, [1, 2, 3, 4, 5, 6]]);
    expect(o(2)).toEqual([2, 3, [3, 2, 1, 6, 5, 4]]);
    expect(o(3)).toEqual([2, 3, [6, 5, 4, 3, 2, 1]]);
    expect(o(4)).toEqual([2, 3, [4, 5, 6, 1, 2, 3]]);
    expect(o(5)).toEqual([3, 2, [1, 4, 2, 5, 3, 6]]);
    expect(o(6)).toEqual([3, 2, [4, 1, 5, 2, 6, 3]]);
    expect(o(7)).toEqual([3, 2, [6, 3, 5, 2, 4, 1]]);
    expect(o(8)).toEqual([3, 2, [3, 6, 2, 5, 1, 4]]);
    expect(o(9)).toEqual([2, 3, [1, 2, 3, 4, 5, 6]]);
  });
});
