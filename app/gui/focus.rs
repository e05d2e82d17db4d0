//! Keyboard focus for buttons and check boxes, which iced 0.14 cannot focus: a wrapped control
//! is reached with Tab and Shift+Tab (iced's own focus order, with the text fields), shows a
//! focus ring in the accent colour while it has the focus, and Enter or Space press it as a
//! click in its middle would — so the control keeps its own message, style and states.

use iced::advanced::layout::{self, Layout};
use iced::advanced::renderer::{self, Renderer as _};
use iced::advanced::widget::{Operation, Tree, operation, tree};
use iced::advanced::{Clipboard, Shell, Widget, mouse, overlay};
use iced::keyboard::{self, key};
use iced::{Background, Border, Color, Element, Event, Length, Rectangle, Size, Theme, Vector};

/// A control that takes the keyboard focus (see the module documentation).
pub struct Focusable<'a, Message> {
    content: Element<'a, Message>,
    /// Starts with the focus (tests).
    focused: bool,
}

/// Makes `content` (a button, a check box) reachable with Tab and pressed with Enter or Space.
pub fn focusable<'a, Message: 'a>(
    content: impl Into<Element<'a, Message>>,
) -> Focusable<'a, Message> {
    Focusable {
        content: content.into(),
        focused: false,
    }
}

impl<Message> Focusable<'_, Message> {
    /// Starts with the focus, as Tab would have given it.
    #[cfg(test)]
    pub fn focused(mut self) -> Self {
        self.focused = true;
        self
    }
}

/// Whether the control has the focus.
#[derive(Debug, Default)]
struct State {
    focused: bool,
}

impl operation::Focusable for State {
    fn is_focused(&self) -> bool {
        self.focused
    }

    fn focus(&mut self) {
        self.focused = true;
    }

    fn unfocus(&mut self) {
        self.focused = false;
    }
}

/// Enter or Space, pressed once (a held key repeats nothing).
fn activates(event: &Event) -> bool {
    matches!(
        event,
        Event::Keyboard(keyboard::Event::KeyPressed {
            key: keyboard::Key::Named(key::Named::Enter | key::Named::Space),
            repeat: false,
            ..
        })
    )
}

impl<Message> Widget<Message, Theme, iced::Renderer> for Focusable<'_, Message> {
    fn tag(&self) -> tree::Tag {
        tree::Tag::of::<State>()
    }

    fn state(&self) -> tree::State {
        tree::State::new(State {
            focused: self.focused,
        })
    }

    fn children(&self) -> Vec<Tree> {
        vec![Tree::new(&self.content)]
    }

    fn diff(&self, tree: &mut Tree) {
        tree.diff_children(std::slice::from_ref(&self.content));
    }

    fn size(&self) -> Size<Length> {
        self.content.as_widget().size()
    }

    fn layout(
        &mut self,
        tree: &mut Tree,
        renderer: &iced::Renderer,
        limits: &layout::Limits,
    ) -> layout::Node {
        self.content
            .as_widget_mut()
            .layout(&mut tree.children[0], renderer, limits)
    }

    fn operate(
        &mut self,
        tree: &mut Tree,
        layout: Layout<'_>,
        renderer: &iced::Renderer,
        operation: &mut dyn Operation,
    ) {
        let state = tree.state.downcast_mut::<State>();
        operation.focusable(None, layout.bounds(), state);
        self.content
            .as_widget_mut()
            .operate(&mut tree.children[0], layout, renderer, operation);
    }

    fn update(
        &mut self,
        tree: &mut Tree,
        event: &Event,
        layout: Layout<'_>,
        cursor: mouse::Cursor,
        renderer: &iced::Renderer,
        clipboard: &mut dyn Clipboard,
        shell: &mut Shell<'_, Message>,
        viewport: &Rectangle,
    ) {
        let focused = tree.state.downcast_ref::<State>().focused;
        if focused && activates(event) {
            // A click in the middle: the control reacts as it does to the mouse.
            let middle = mouse::Cursor::Available(layout.bounds().center());
            for click in [
                mouse::Event::ButtonPressed(mouse::Button::Left),
                mouse::Event::ButtonReleased(mouse::Button::Left),
            ] {
                let mut messages = Vec::new();
                let mut inner = Shell::new(&mut messages);
                self.content.as_widget_mut().update(
                    &mut tree.children[0],
                    &Event::Mouse(click),
                    layout,
                    middle,
                    renderer,
                    clipboard,
                    &mut inner,
                    viewport,
                );
                for message in messages {
                    shell.publish(message);
                }
            }
            shell.capture_event();
            shell.request_redraw();
            return;
        }
        self.content.as_widget_mut().update(
            &mut tree.children[0],
            event,
            layout,
            cursor,
            renderer,
            clipboard,
            shell,
            viewport,
        );
        // A click elsewhere takes the focus away, as from a text field.
        if let Event::Mouse(mouse::Event::ButtonPressed(_)) = event {
            if focused && !cursor.is_over(layout.bounds()) {
                tree.state.downcast_mut::<State>().focused = false;
                shell.request_redraw();
            }
        }
    }

    fn draw(
        &self,
        tree: &Tree,
        renderer: &mut iced::Renderer,
        theme: &Theme,
        style: &renderer::Style,
        layout: Layout<'_>,
        cursor: mouse::Cursor,
        viewport: &Rectangle,
    ) {
        self.content.as_widget().draw(
            &tree.children[0],
            renderer,
            theme,
            style,
            layout,
            cursor,
            viewport,
        );
        if tree.state.downcast_ref::<State>().focused {
            renderer.fill_quad(
                renderer::Quad {
                    bounds: layout.bounds(),
                    border: Border {
                        color: theme.extended_palette().primary.strong.color,
                        width: 2.0,
                        radius: 4.0.into(),
                    },
                    ..renderer::Quad::default()
                },
                Background::Color(Color::TRANSPARENT),
            );
        }
    }

    fn mouse_interaction(
        &self,
        tree: &Tree,
        layout: Layout<'_>,
        cursor: mouse::Cursor,
        viewport: &Rectangle,
        renderer: &iced::Renderer,
    ) -> mouse::Interaction {
        self.content.as_widget().mouse_interaction(
            &tree.children[0],
            layout,
            cursor,
            viewport,
            renderer,
        )
    }

    fn overlay<'b>(
        &'b mut self,
        tree: &'b mut Tree,
        layout: Layout<'b>,
        renderer: &iced::Renderer,
        viewport: &Rectangle,
        translation: Vector,
    ) -> Option<overlay::Element<'b, Message, Theme, iced::Renderer>> {
        self.content.as_widget_mut().overlay(
            &mut tree.children[0],
            layout,
            renderer,
            viewport,
            translation,
        )
    }
}

impl<'a, Message: 'a> From<Focusable<'a, Message>> for Element<'a, Message> {
    fn from(f: Focusable<'a, Message>) -> Self {
        Element::new(f)
    }
}

#[cfg(test)]
mod tests {
    use iced::widget::{button, checkbox, column, text};
    use iced_test::selector::Candidate;
    use iced_test::{Selector, simulator};

    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    enum M {
        A,
        B,
        Checked(bool),
    }

    /// Selects the control that has the focus, as iced's focus operations see it.
    struct HasFocus;

    impl Selector for HasFocus {
        type Output = Rectangle;

        fn select(&mut self, candidate: Candidate<'_>) -> Option<Rectangle> {
            match candidate {
                Candidate::Focusable { bounds, state, .. } if state.is_focused() => Some(bounds),
                _ => None,
            }
        }

        fn description(&self) -> String {
            "the focused control".into()
        }
    }

    fn two(focus_b: bool) -> Element<'static, M> {
        let b = focusable(button(text("B")).on_press(M::B));
        column![
            focusable(button(text("A")).on_press(M::A)),
            if focus_b { b.focused() } else { b },
            focusable(checkbox(false).label("C").on_toggle(M::Checked)),
        ]
        .into()
    }

    #[test]
    fn the_focused_button_is_pressed_by_enter_or_space_once() {
        let mut ui = simulator(two(true));
        assert!(ui.find(HasFocus).is_ok(), "iced's focus operations see it");
        ui.tap_key(key::Named::Enter);
        ui.tap_key(key::Named::Space);
        let messages: Vec<M> = ui.into_messages().collect();
        assert_eq!(messages, [M::B, M::B]);
    }

    #[test]
    fn without_the_focus_keys_do_nothing_and_clicks_still_work() {
        let mut ui = simulator(two(false));
        assert!(ui.find(HasFocus).is_err(), "nothing focused");
        assert_eq!(ui.tap_key(key::Named::Enter), iced::event::Status::Ignored);
        ui.click("A").unwrap();
        ui.click("C").unwrap();
        let messages: Vec<M> = ui.into_messages().collect();
        assert_eq!(messages, [M::A, M::Checked(true)]);
    }

    #[test]
    fn a_click_elsewhere_takes_the_focus_away() {
        let mut ui = simulator(two(true));
        ui.click("A").unwrap();
        ui.tap_key(key::Named::Enter);
        let messages: Vec<M> = ui.into_messages().collect();
        assert_eq!(messages, [M::A], "Enter no longer presses B");
    }
}
