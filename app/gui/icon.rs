//! The window icon: `resources/icons/remote4d.svg` (the one the desktop entry names) drawn at
//! 64×64 without an image library — its rounded squares and connector, anti-aliased by 4×4
//! supersampling. The "4D" lettering is left out: it is unreadable at window-icon sizes.

/// Side of the icon, in pixels.
const SIZE: u32 = 64;
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

/// The icon's pixels, RGBA, row by row.
pub fn rgba() -> Vec<u8> {
    const SUB: u32 = 4;
    let scale = VIEW / SIZE as f32;
    let mut out = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
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

/// The window icon.
pub fn window_icon() -> Option<iced::window::Icon> {
    iced::window::icon::from_rgba(rgba(), SIZE, SIZE).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_is_the_svgs_design() {
        let px = rgba();
        assert_eq!(px.len(), (SIZE * SIZE * 4) as usize);
        let at = |x: u32, y: u32| {
            let i = ((y * SIZE + x) * 4) as usize;
            [px[i], px[i + 1], px[i + 2], px[i + 3]]
        };
        // Outside the rounded square: transparent; the corner is rounded.
        assert_eq!(at(0, 0)[3], 0);
        assert_eq!(at(5, 5)[3], 0);
        // The blue square, the white and the light-blue panels, fully opaque.
        assert_eq!(at(8, 40), [0x1f, 0x4e, 0x8c, 255]);
        assert_eq!(at(20, 24), [0xff, 0xff, 0xff, 255]);
        assert_eq!(at(40, 40), [0x8f, 0xc1, 0xff, 255]);
        // Anti-aliased edges: partly covered pixels exist.
        assert!(px.chunks(4).any(|p| p[3] > 0 && p[3] < 255));
        assert!(window_icon().is_some());
    }
}
