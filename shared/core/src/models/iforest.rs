//! Isolation Forest (Liu, Ting and Zhou, 2008), written for trailhound.
