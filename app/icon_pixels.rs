//! The Remote4D icon's pixels: `resources/icons/remote4d.svg` (the one the desktop entry names)
//! drawn at any size without an image library — its rounded squares and connector, anti-aliased by
//! 4×4 supersampling. The "4D" lettering is left out: it is unreadable at icon sizes.
//!
//! Plain `std`: the app's window icon (`gui::icon`) and, through `build.rs`, the Windows
//! executable's icon resource are both drawn from it.

/// The SVG's view box.
const VIEW: f32 = 256.0;

/// A rounded rectangle of the SVG, in its coordinates, with its colour.
struct Shape {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    r: f32,
    rgb: [u8; 3],
}

impl Shape {
    fn contains(&self, px: f32, py: f32) -> bool {
        if px < self.x || py < self.y || px > self.x + self.w || py > self.y + self.h {
            return false;
        }
        // Distance into a corner's square, if in one.
        let cx = px.clamp(self.x + self.r, self.x + self.w - self.r);
        let cy = py.clamp(self.y + self.r, self.y + self.h - self.r);
        let (dx, dy) = (px - cx, py - cy);
        dx * dx + dy * dy <= self.r * self.r
    }
}

/// The shapes, back to front (as in the SVG; the connector is two thin rectangles).
const SHAPES: [Shape; 5] = [
    Shape {
        x: 16.0,
        y: 16.0,
        w: 224.0,
        h: 224.0,
        r: 40.0,
        rgb: [0x1f, 0x4e, 0x8c],
    },
    Shape {
        x: 48.0,
        y: 64.0,
        w: 88.0,
        h: 64.0,
        r: 8.0,
        rgb: [0xff, 0xff, 0xff],
    },
    Shape {
        x: 120.0,
        y: 128.0,
        w: 88.0,
        h: 64.0,
        r: 8.0,
        rgb: [0x8f, 0xc1, 0xff],
    },
    Shape {
        x: 136.0,
        y: 91.0,
        w: 45.0,
        h: 10.0,
        r: 0.0,
        rgb: [0xff, 0xff, 0xff],
    },
    Shape {
        x: 171.0,
        y: 96.0,
        w: 10.0,
        h: 32.0,
        r: 0.0,
        rgb: [0xff, 0xff, 0xff],
    },
];

/// The icon's pixels at `size`×`size`, RGBA, row by row.
pub fn rgba(size: u32) -> Vec<u8> {
    const SUB: u32 = 4;
    let scale = VIEW / size as f32;
    let mut out = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let mut sum = [0u32; 4];
            for sy in 0..SUB {
                for sx in 0..SUB {
                    let px = (x as f32 + (sx as f32 + 0.5) / SUB as f32) * scale;
                    let py = (y as f32 + (sy as f32 + 0.5) / SUB as f32) * scale;
                    if let Some(shape) = SHAPES.iter().rev().find(|s| s.contains(px, py)) {
                        for (acc, c) in sum.iter_mut().zip(shape.rgb) {
                            *acc += u32::from(c);
                        }
                        sum[3] += 255;
                    }
                }
            }
            let n = SUB * SUB;
            // Colour averaged over the covered samples (no dark fringe), alpha over all.
            let covered = (sum[3] / 255).max(1);
            out.extend_from_slice(&[
                (sum[0] / covered) as u8,
                (sum[1] / covered) as u8,
                (sum[2] / covered) as u8,
                (sum[3] / n) as u8,
            ]);
        }
    }
    out
}
